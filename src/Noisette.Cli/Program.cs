using TorchSharp;
var x = torch.randn(2, 3, 8, 8);
var conv = torch.nn.Conv2d(3, 4, 3);
Console.WriteLine(conv.forward(x).shape.Length);

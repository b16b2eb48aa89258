using System.CommandLine;
using Noisette.Cli;
using Noisette.Cli.Commands;

var root = new RootCommand("Noisette: train diffusion image models on your own pictures, then generate with them.")
{
    TrainCommand.Create(),
    ResumeCommand.Create(),
    SampleCommand.Create(),
    DemoCommand.Create(),
    InitCommand.Create(),
    ImportCommand.Create(),
};
return Cli.Run(root, args);

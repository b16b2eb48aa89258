using Noisette.Cli;

// A command computes one thing at a time, except the studio, which trains and generates at once.
Noisette.Runtime.TorchRuntime.PrepareProcess(args.FirstOrDefault() == "studio" ? Noisette.Runtime.Workload.Shared : Noisette.Runtime.Workload.Single);
return Cli.Run(Cli.CreateRoot(), args);

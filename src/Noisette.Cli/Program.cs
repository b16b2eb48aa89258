using Noisette.Cli;

return Cli.Run(Cli.CreateRoot(), args);

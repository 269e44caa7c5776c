using Tessera.Cli.Commands;

return await TesseraCli.RunAsync(args);

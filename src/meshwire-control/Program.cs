// meshwire-control: the coordination server and its admin verbs (docs/control.md).
return await Meshwire.Control.Cli.ControlProgram.RunAsync(args);

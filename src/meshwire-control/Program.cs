// meshwire-control: the coordination server and its admin verbs (docs/control.md).
// Its database, keys and admin socket are owner-only from the moment they are created.
Meshwire.Shared.SecretFile.RestrictUmask();
return await Meshwire.Control.Cli.ControlProgram.RunAsync(args);

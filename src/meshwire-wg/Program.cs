Console.Error.WriteLine("meshwire-wg: not yet wired");
return 1;

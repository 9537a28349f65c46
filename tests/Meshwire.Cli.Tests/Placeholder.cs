namespace Meshwire.Cli.Tests;

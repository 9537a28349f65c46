namespace Meshwire.Paths.Tests;

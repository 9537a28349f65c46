namespace Meshwire.Paths;

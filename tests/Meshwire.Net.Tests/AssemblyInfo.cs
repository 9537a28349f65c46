using System.Runtime.Versioning;

// The drivers under test are Linux-only (TUN, recvmmsg, unix sockets with file modes).
[assembly: SupportedOSPlatform("linux")]

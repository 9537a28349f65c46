namespace Meshwire.IntegrationTests.Tailnet;

/// <summary>A tailnet lab test: needs root (namespaces, TUN devices); skipped otherwise.</summary>
internal sealed class TailnetFactAttribute : FactAttribute
{
    public TailnetFactAttribute()
    {
        if (!Environment.IsPrivilegedProcess)
        {
            Skip = "needs root: creates network namespaces and TUN devices";
        }
    }
}

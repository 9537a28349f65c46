using Meshwire.WireGuard.Config;

namespace Meshwire.Net.Tests.Uapi;

/// <summary>Answers get with a fixed status and records every applied update.</summary>
internal sealed class FakeDevice : IConfigurableDevice
{
    private readonly Lock _gate = new();
    private readonly List<DeviceConfigUpdate> _applied = [];

    public DeviceStatus Status { get; set; } = new(null, 0, 0, []);

    public int ApplyResult { get; set; }

    public IReadOnlyList<DeviceConfigUpdate> Applied
    {
        get
        {
            lock (_gate)
            {
                return [.. _applied];
            }
        }
    }

    public DeviceStatus GetStatus() => Status;

    public int Apply(DeviceConfigUpdate update)
    {
        lock (_gate)
        {
            _applied.Add(update);
        }

        return ApplyResult;
    }
}

/// <summary>A device whose every call throws, as a buggy engine might.</summary>
internal sealed class ThrowingDevice : IConfigurableDevice
{
    public DeviceStatus GetStatus() => throw new InvalidOperationException("broken");

    public int Apply(DeviceConfigUpdate update) => throw new InvalidOperationException("broken");
}

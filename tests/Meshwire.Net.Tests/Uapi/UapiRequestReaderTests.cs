using System.Globalization;
using System.Text;
using Meshwire.Net.Uapi;
using Meshwire.WireGuard.Config;

namespace Meshwire.Net.Tests.Uapi;

/// <summary>
/// The reader of a connection's bytes, fed as a socket would deliver them: at every split offset, a byte at a time,
/// cut off at every offset, and with lines and requests past the bounds.
/// </summary>
public sealed class UapiRequestReaderTests
{
    private static readonly string PeerA = TestKeys.Hex(1);

    public static TheoryData<string> Streams => new()
    {
        "get=1\n\n",
        "set=1\n\n",
        "set=1\nlisten_port=51820\n\n",
        $"set=1\nprivate_key={TestKeys.Hex(7)}\nlisten_port=51820\nfwmark=3\nreplace_peers=true\npublic_key={PeerA}\n"
            + $"preshared_key={TestKeys.Hex(9)}\nendpoint=[2001:db8::1]:51820\npersistent_keepalive_interval=25\n"
            + "replace_allowed_ips=true\nallowed_ip=10.0.0.0/24\nallowed_ip=fd00::/64\nprotocol_version=1\n"
            + $"public_key={TestKeys.Hex(100)}\nremove=true\n\n",
        "set=1\r\nlisten_port=1\n\n",
        "set=1\nlisten_port=1\r\nfwmark=2\r\n\r\n",
        "set=1\nfwmark=1\n\nget=1\n\nset=1\nfwmark=2\n\n",
        "set=1\nlisten_port=x\nfwmark=1\n\nget=1\n\n",
        "set=1\nlisten_port\n\nset=1\nlisten_port=2\n\n",
        "set=1\nlisten_port=1\nbogus=\u00e9\n\nget=1\n\n",
        "get=1\nx\n",
        "get=1\n\nget=2\n\n",
        "\n",
        "set=1\n" + new string('1', UapiLimits.MaxLineBytes + 1) + "\n\n",
        "set=1\nlisten_port=" + new string('1', UapiLimits.MaxLineBytes - 12) + "\n\n",
    };

    [Theory]
    [MemberData(nameof(Streams))]
    public void TryRead_SplitAtEveryOffset_SameRequests(string stream)
    {
        var bytes = Encoding.UTF8.GetBytes(stream);
        var whole = Feed(bytes);

        for (var split = 0; split <= bytes.Length; split++)
        {
            Assert.Equal(whole, Feed(bytes, split));
        }

        Assert.Equal(whole, Feed(bytes, [.. Enumerable.Range(0, bytes.Length)]));
    }

    [Theory]
    [MemberData(nameof(Streams))]
    public void TryRead_CutAtEveryOffset_YieldsOnlyTheRequestsWhoseEndArrived(string stream)
    {
        var bytes = Encoding.UTF8.GetBytes(stream);
        var whole = FeedWithEnds(bytes);

        for (var cut = 0; cut < bytes.Length; cut++)
        {
            var prefix = FeedWithEnds(bytes.AsSpan(0, cut).ToArray());

            // Exactly the requests whose last byte (a set's blank line) arrived; a refusal may come as soon as it is certain.
            Assert.Equal(
                whole.Where(r => r.End <= cut && !r.Text.StartsWith("Close", StringComparison.Ordinal)).Select(r => r.Text),
                prefix.Where(r => !r.Text.StartsWith("Close", StringComparison.Ordinal)).Select(r => r.Text));
            Assert.All(prefix.Where(r => r.Text.StartsWith("Close", StringComparison.Ordinal)), r => Assert.Equal(whole[^1].Text, r.Text));
        }
    }

    [Fact]
    public void TryRead_SetWithoutBlankLine_NeedsMoreDataForever()
    {
        var reader = new UapiRequestReader();
        var bytes = "set=1\nlisten_port=4242\npublic_key="u8.ToArray().Concat(Encoding.ASCII.GetBytes(PeerA + "\nallowed_ip=10.0.0.0/8\n")).ToArray();

        var result = reader.TryRead(bytes);

        Assert.Equal(UapiReadStatus.NeedMoreData, result.Status);
        Assert.Equal(bytes.Length, result.Consumed);
        Assert.True(reader.InRequest);
        Assert.Null(result.Update);
    }

    [Fact]
    public void TryRead_PartialLine_IsNotConsumed()
    {
        var reader = new UapiRequestReader();

        var result = reader.TryRead("set=1\nlisten_po"u8);

        Assert.Equal(UapiReadStatus.NeedMoreData, result.Status);
        Assert.Equal("set=1\n".Length, result.Consumed);
    }

    [Fact]
    public void TryRead_BufferFullWithoutNewline_RefusesTheLine()
    {
        // MaxLineBytes + 1 bytes without a newline cannot become a line within the bound: refused at once.
        var reader = new UapiRequestReader();
        Assert.Equal(UapiReadStatus.NeedMoreData, reader.TryRead("set=1\n"u8).Status);
        var full = new byte[UapiLimits.MaxLineBytes + 1];
        full.AsSpan().Fill((byte)'a');

        Assert.Equal(UapiReadStatus.NeedMoreData, reader.TryRead(full.AsSpan(0, UapiLimits.MaxLineBytes)).Status);
        var result = reader.TryRead(full);

        Assert.Equal(UapiReadStatus.Close, result.Status);
        Assert.Equal(UapiErrors.MessageTooLong, result.Errno);
    }

    [Fact]
    public void TryRead_LinesUpToTheBound_Set()
    {
        var result = ReadSetOf(UapiLimits.MaxRequestLines);

        Assert.Equal(UapiReadStatus.Set, result.Status);
        Assert.Equal(1u, result.Update!.FirewallMark);
    }

    [Fact]
    public void TryRead_OneLinePastTheBound_RefusesBeforeTheBlankLine()
    {
        var result = ReadSetOf(UapiLimits.MaxRequestLines + 1);

        Assert.Equal(UapiReadStatus.Close, result.Status);
        Assert.Equal(UapiErrors.MessageTooLong, result.Errno);
    }

    [Fact]
    public void TryRead_RejectedSetPastTheBound_StillRefused()
    {
        // A set already rejected by a bad line is still counted: skipping it must be bounded too.
        var reader = new UapiRequestReader();
        Assert.Equal(UapiReadStatus.NeedMoreData, reader.TryRead("set=1\nbogus=1\n"u8).Status);
        var lines = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("x\n", UapiLimits.MaxRequestLines)));

        var result = reader.TryRead(lines);

        Assert.Equal(UapiReadStatus.Close, result.Status);
        Assert.Equal(UapiErrors.MessageTooLong, result.Errno);
    }

    [Theory]
    [InlineData("get=1\nx\n", -22)]
    [InlineData("get=1\r\n\n", 0)]
    [InlineData("set=1\r\n\n", 0)]
    [InlineData("get=2\n\n", 0)]
    [InlineData("\n", 0)]
    [InlineData("set=1 \n\n", 0)]
    public void TryRead_BadOperation_Closes(string stream, int errno)
    {
        var reader = new UapiRequestReader();

        var result = reader.TryRead(Encoding.ASCII.GetBytes(stream));

        Assert.Equal(UapiReadStatus.Close, result.Status);
        Assert.Equal(errno, result.Errno);
        Assert.Throws<InvalidOperationException>(() => reader.TryRead("get=1\n\n"u8));
    }

    [Theory]
    [InlineData(new byte[] { 0xC3, 0xA9 })]
    [InlineData(new byte[] { 0x00 })]
    [InlineData(new byte[] { 0xFF })]
    public void TryRead_NonAsciiValue_RejectsWithEinval(byte[] value)
    {
        var reader = new UapiRequestReader();
        byte[] stream = [.. "set=1\nlisten_port=1"u8, .. value, .. "\n\n"u8];

        var result = reader.TryRead(stream);

        Assert.Equal(UapiReadStatus.SetRejected, result.Status);
        Assert.Equal(UapiErrors.Invalid, result.Errno);
    }

    /// <summary>A set of <paramref name="lines"/> lines "fwmark=1", read in one piece.</summary>
    private static UapiReadResult ReadSetOf(int lines)
    {
        var reader = new UapiRequestReader();
        var stream = Encoding.ASCII.GetBytes("set=1\n" + string.Concat(Enumerable.Repeat("fwmark=1\n", lines)) + "\n");
        return reader.TryRead(stream);
    }

    /// <summary>
    /// Feeds <paramref name="stream"/> to a new reader as a socket would, the bytes arriving in pieces that end at
    /// <paramref name="cuts"/>; each call sees what has arrived and is not yet consumed. Returns every request found.
    /// </summary>
    private static List<string> Feed(byte[] stream, params int[] cuts) => [.. FeedWithEnds(stream, cuts).Select(r => r.Text)];

    /// <summary>As <see cref="Feed"/>, with the offset in the stream where each request ended.</summary>
    private static List<(string Text, int End)> FeedWithEnds(byte[] stream, params int[] cuts)
    {
        var reader = new UapiRequestReader();
        var results = new List<(string, int)>();
        var start = 0;
        foreach (var arrived in cuts.Append(stream.Length))
        {
            while (true)
            {
                var result = reader.TryRead(stream.AsSpan(start, arrived - start));
                start += result.Consumed;
                Assert.InRange(start, 0, arrived);
                if (result.Status == UapiReadStatus.NeedMoreData)
                {
                    break;
                }

                results.Add((Describe(result), start));
                if (result.Status == UapiReadStatus.Close)
                {
                    return results;
                }
            }
        }

        return results;
    }

    private static string Describe(UapiReadResult result) =>
        $"{result.Status} errno={result.Errno.ToString(CultureInfo.InvariantCulture)} {(result.Update is { } update ? Describe(update) : "-")}";

    private static string Describe(DeviceConfigUpdate update)
    {
        var text = new StringBuilder().Append(CultureInfo.InvariantCulture, $"private_key={update.PrivateKey?.Value.ToHex()} listen_port={update.ListenPort} fwmark={update.FirewallMark} replace_peers={update.ReplacePeers}");
        foreach (var peer in update.Peers)
        {
            text.Append(CultureInfo.InvariantCulture, $" | {peer.PublicKey} remove={peer.Remove} update_only={peer.UpdateOnly} psk={peer.PresharedKey?.Value.ToHex()} endpoint={peer.Endpoint} keepalive={peer.PersistentKeepaliveInterval} replace_ips={peer.ReplaceAllowedIps} ips={string.Join(',', peer.AllowedIps)}");
        }

        return text.ToString();
    }
}

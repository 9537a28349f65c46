using System.Net.WebSockets;
using System.Text;
using Meshwire.Control.Channel;
using Meshwire.Control.Client;
using Meshwire.Core;
using Meshwire.Protocol;
using Meshwire.WireGuard.Noise;

namespace Meshwire.Control.Tests;

/// <summary>
/// What a node may send on its channel and what it gets back: malformed messages, oversized frames and registrations
/// without a valid proof of the node key are each answered with an error, change nothing, and (except the oversized
/// frame, whose rest is never read) leave the channel usable.
/// </summary>
public sealed class ChannelRequestTests
{
    private const string ZeroKey = "0000000000000000000000000000000000000000000000000000000000000000";
    private const string SomeKey = "0101010101010101010101010101010101010101010101010101010101010101";

    /// <summary>Malformed messages of every kind: null, missing and wrong-typed fields, null list elements, not JSON.</summary>
    public static TheoryData<string> Malformed => new()
    {
        """{"type":"register","nodeKey":"nodekey:{K}","hostname":"a","tags":[null]}""",
        """{"type":"register","nodeKey":"nodekey:{K}","hostname":"a","tags":[1]}""",
        """{"type":"register","nodeKey":"nodekey:{K}","hostname":"a","tags":"tag:x"}""",
        """{"type":"register","nodeKey":"nodekey:{K}","hostname":"a","tags":{}}""",
        """{"type":"register","nodeKey":"nodekey:{K}","hostname":null}""",
        """{"type":"register","nodeKey":"nodekey:{K}"}""",
        """{"type":"register","nodeKey":"nodekey:{K}","hostname":5}""",
        """{"type":"register","nodeKey":null,"hostname":"a"}""",
        """{"type":"register","hostname":"a"}""",
        """{"type":"register","nodeKey":"nodekey:{Z}","hostname":"a"}""",
        """{"type":"register","nodeKey":5,"hostname":"a"}""",
        """{"type":"register","nodeKey":"nodekey:{K}","hostname":"a","authKey":7}""",
        """{"type":"register","nodeKey":"nodekey:{K}","hostname":"a","authKey":""}""",
        """{"type":"register","nodeKey":"nodekey:{K}","hostname":"a","logout":"yes"}""",
        """{"type":"register","nodeKey":"nodekey:{K}","hostname":"a","oldNodeKey":null,"nodeKeyProof":5}""",
        """{"type":"map","nodeKey":"nodekey:{K}","discoKey":"discokey:{K}","endpoints":[null]}""",
        """{"type":"map","nodeKey":"nodekey:{K}","discoKey":"discokey:{K}","endpoints":[5]}""",
        """{"type":"map","nodeKey":"nodekey:{K}","discoKey":null}""",
        """{"type":"map","nodeKey":"nodekey:{K}","discoKey":"discokey:{Z}"}""",
        """{"type":"map","nodeKey":"nodekey:{K}"}""",
        """{"type":"map","nodeKey":"nodekey:{K}","discoKey":"discokey:{K}","homeRelay":"1"}""",
        """{"type":"map","nodeKey":"nodekey:{K}","discoKey":"discokey:{K}","homeRelay":-1}""",
        """{"type":"map","nodeKey":"nodekey:{K}","discoKey":"discokey:{K}","stream":null}""",
        """{"type":"register-result","authorized":true}""",
        """{"type":"keepalive","seq":1}""",
        """{"type":"error","code":"x","message":"y"}""",
        """{"type":"nope"}""",
        """{"type":null}""",
        """{}""",
        """[]""",
        """null""",
        """5""",
        """{"type":"register",""",
        "not json at all",
        "",
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public async Task Channel_MalformedMessage_ErrorAnswerAndChannelStaysUsable(string template)
    {
        await using var server = await TestServer.StartAsync();
        var authKey = await server.AuthKeyAsync();
        await using var client = await ControlClient.ConnectAsync(server.Url, ControlClient.GenerateMachineKey());

        await client.Frames.SendJsonAsync(Encoding.UTF8.GetBytes(template.Replace("{K}", SomeKey, StringComparison.Ordinal).Replace("{Z}", ZeroKey, StringComparison.Ordinal)), CancellationToken.None);
        var answer = await ReadMessageAsync(client);

        var error = Assert.IsType<ErrorMessage>(answer);
        Assert.Equal(ErrorCodes.BadRequest, error.Code);
        Assert.False(string.IsNullOrWhiteSpace(error.Message));
        Assert.Empty(await server.Service.ListNodesAsync());

        // The same channel still registers a node.
        var registered = await client.RegisterAsync(new RegisterRequest { NodeKey = default, Hostname = "after", AuthKey = authKey }, X25519Keys.GeneratePrivateKey());
        Assert.True(registered.Authorized);
    }

    [Theory]
    [InlineData("\"tags\":[\"tag:x\"]", "\"tags\":[null]")]
    [InlineData("\"tags\":[\"tag:x\"]", "\"tags\":[\"tag:x\",null]")]
    [InlineData("\"hostname\":\"valid\"", "\"hostname\":null")]
    public async Task Register_ProvenButNullField_BadRequestAndChannelStaysUsable(string field, string replacement)
    {
        // A request that passes every other check (proof, auth key), so only the null reaches the server's logic.
        await using var server = await TestServer.StartAsync();
        var authKey = await server.AuthKeyAsync(reusable: true);
        await using var client = await ControlClient.ConnectAsync(server.Url, ControlClient.GenerateMachineKey());
        var nodePrivate = X25519Keys.GeneratePrivateKey();
        var request = new RegisterRequest
        {
            NodeKey = X25519Keys.PublicKeyOf(nodePrivate),
            Hostname = "valid",
            AuthKey = authKey,
            Tags = ["tag:x"],
            NodeKeyProof = NodeKeyProof.Create(nodePrivate, client.MachineKey, client.ServerKey),
        };
        var json = Encoding.UTF8.GetString(ProtocolJson.Serialize(request));
        Assert.Contains(field, json, StringComparison.Ordinal);

        await client.Frames.SendJsonAsync(Encoding.UTF8.GetBytes(json.Replace(field, replacement, StringComparison.Ordinal)), CancellationToken.None);

        var error = Assert.IsType<ErrorMessage>(await ReadMessageAsync(client));
        Assert.Equal(ErrorCodes.BadRequest, error.Code);
        Assert.Empty(await server.Service.ListNodesAsync());
        Assert.True((await client.RegisterAsync(request with { Tags = null }, nodePrivate)).Authorized);
    }

    [Theory]
    [InlineData("\u001b[31mred")]       // a terminal escape, printed raw by `users list` and `nodes list` before
    [InlineData("box\u0000name")]       // NUL
    [InlineData("invoice\u202Etxt.exe")] // right-to-left override
    [InlineData("zero\u200Bwidth")]     // zero-width space
    public async Task Register_HostnameWithControlCharacters_BadRequestAndNothingWritten(string hostname)
    {
        await using var server = await TestServer.StartAsync();
        var authKey = await server.AuthKeyAsync(reusable: true);
        await using var client = await ControlClient.ConnectAsync(server.Url, ControlClient.GenerateMachineKey());
        var nodePrivate = X25519Keys.GeneratePrivateKey();

        var e = await Assert.ThrowsAsync<ControlProtocolException>(() => client.RegisterAsync(
            new RegisterRequest { NodeKey = X25519Keys.PublicKeyOf(nodePrivate), Hostname = hostname, AuthKey = authKey }, nodePrivate));

        Assert.Equal(ErrorCodes.BadRequest, e.Code);
        Assert.Contains("hostname", e.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Empty(await server.Service.ListNodesAsync());
    }

    [Fact]
    public async Task Channel_OversizedFrame_TooLargeWithTheLimitThenClosedAsMessageTooBig()
    {
        await using var server = await TestServer.StartAsync(o => o.MaxRequestBytes = 4096);
        await using var client = await ControlClient.ConnectAsync(server.Url, ControlClient.GenerateMachineKey());
        var huge = Encoding.UTF8.GetBytes("{\"type\":\"register\",\"hostname\":\"" + new string('a', 10_000) + "\"}");

        await client.Frames.SendJsonAsync(huge, CancellationToken.None);

        var error = Assert.IsType<ErrorMessage>(await ReadMessageAsync(client));
        Assert.True(error.Code == ErrorCodes.TooLarge, error.Code + ": " + error.Message);
        Assert.Contains("4096", error.Message, StringComparison.Ordinal);
        Assert.True((await ReadAsync(client)).IsClosed);
        var socket = (ClientWebSocket)client.Frames.Socket;
        Assert.Equal(WebSocketCloseStatus.MessageTooBig, socket.CloseStatus);
        Assert.Contains("4096", socket.CloseStatusDescription, StringComparison.Ordinal);
        Assert.DoesNotContain("lifetime", socket.CloseStatusDescription, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Register_WithoutProof_ProofMissingAndNothingWritten()
    {
        await using var server = await TestServer.StartAsync();
        await using var client = await ControlClient.ConnectAsync(server.Url, ControlClient.GenerateMachineKey());
        var nodeKey = X25519Keys.PublicKeyOf(X25519Keys.GeneratePrivateKey());

        var e = await Assert.ThrowsAsync<ControlProtocolException>(() =>
            client.SendRegisterAsync(new RegisterRequest { NodeKey = nodeKey, Hostname = "old", AuthKey = "mwauth-unused" }));

        Assert.Equal(ErrorCodes.NodeKeyProofMissing, e.Code);
        Assert.Empty(await server.Service.ListNodesAsync());
    }

    [Fact]
    public async Task Register_ProofForAnotherNodeKey_ProofInvalidAndNothingWritten()
    {
        await using var server = await TestServer.StartAsync();
        var authKey = await server.AuthKeyAsync(reusable: true);
        await using var client = await ControlClient.ConnectAsync(server.Url, ControlClient.GenerateMachineKey());
        var victim = X25519Keys.PublicKeyOf(X25519Keys.GeneratePrivateKey());
        var proofOfOwnKey = NodeKeyProof.Create(X25519Keys.GeneratePrivateKey(), client.MachineKey, client.ServerKey);

        var e = await Assert.ThrowsAsync<ControlProtocolException>(() => client.SendRegisterAsync(
            new RegisterRequest { NodeKey = victim, Hostname = "thief", AuthKey = authKey, NodeKeyProof = proofOfOwnKey }));

        Assert.Equal(ErrorCodes.NodeKeyProofInvalid, e.Code);
        Assert.Empty(await server.Service.ListNodesAsync());
    }

    [Fact]
    public async Task Register_ProofMadeForAnotherMachine_ProofInvalid()
    {
        await using var server = await TestServer.StartAsync();
        var authKey = await server.AuthKeyAsync(reusable: true);
        await using var client = await ControlClient.ConnectAsync(server.Url, ControlClient.GenerateMachineKey());
        var nodePrivate = X25519Keys.GeneratePrivateKey();
        var otherMachine = ControlClient.PublicKeyOf(ControlClient.GenerateMachineKey());
        var proofForOtherChannel = NodeKeyProof.Create(nodePrivate, otherMachine, client.ServerKey);

        var e = await Assert.ThrowsAsync<ControlProtocolException>(() => client.SendRegisterAsync(new RegisterRequest
        {
            NodeKey = X25519Keys.PublicKeyOf(nodePrivate), Hostname = "moved", AuthKey = authKey, NodeKeyProof = proofForOtherChannel,
        }));

        Assert.Equal(ErrorCodes.NodeKeyProofInvalid, e.Code);
        Assert.Empty(await server.Service.ListNodesAsync());
    }

    [Theory]
    [InlineData("0000000000000000000000000000000000000000000000000000000000000000")]
    [InlineData("0100000000000000000000000000000000000000000000000000000000000000")]
    [InlineData("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800")]
    [InlineData("5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157")]
    [InlineData("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f")]
    [InlineData("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff")]
    [InlineData("eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff")]
    public async Task Register_LowOrderNodeKey_RefusedAndNothingWritten(string hex)
    {
        await using var server = await TestServer.StartAsync();
        var authKey = await server.AuthKeyAsync(reusable: true);
        await using var client = await ControlClient.ConnectAsync(server.Url, ControlClient.GenerateMachineKey());
        var lowOrder = new NodePublicKey(Key32.FromSpan(Convert.FromHexString(hex)));

        var e = await Assert.ThrowsAsync<ControlProtocolException>(() => client.SendRegisterAsync(
            new RegisterRequest { NodeKey = lowOrder, Hostname = "weak", AuthKey = authKey, NodeKeyProof = new string('0', 64) }));

        // The all-zero key is refused as malformed before the key checks; the others as weak keys.
        Assert.Contains(e.Code, new[] { ErrorCodes.WeakKey, ErrorCodes.BadRequest });
        Assert.Empty(await server.Service.ListNodesAsync());
    }

    [Fact]
    public async Task Map_LowOrderDiscoKey_WeakKey()
    {
        await using var server = await TestServer.StartAsync();
        var node = await server.JoinAsync("a");
        var lowOrder = new DiscoPublicKey(Key32.FromSpan(Convert.FromHexString("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800")));

        var e = await Assert.ThrowsAsync<ControlProtocolException>(() => node.Client.GetMapAsync(node.MapRequest() with { DiscoKey = lowOrder }));

        Assert.Equal(ErrorCodes.WeakKey, e.Code);
        Assert.NotNull(await node.Client.GetMapAsync(node.MapRequest()));
    }

    [Fact]
    public void LowOrderPoints_EveryListedPoint_GivesNoProofAndIsFoundWithTheTopBitSet()
    {
        var serverPrivate = X25519Keys.GeneratePrivateKey();
        var server = new MachinePublicKey(X25519Keys.PublicKeyOf(serverPrivate).Value);
        var machine = ControlClient.PublicKeyOf(ControlClient.GenerateMachineKey());
        foreach (var hex in new[] { ZeroKey, "0100000000000000000000000000000000000000000000000000000000000000", "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800", "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157", "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f" })
        {
            var bytes = Convert.FromHexString(hex);
            var point = new NodePublicKey(Key32.FromSpan(bytes));
            Assert.True(LowOrderPoints.Contains(point.Value), hex);

            // X25519 with the point is all zero for any scalar: no proof can verify, whatever is presented.
            Assert.False(NodeKeyProof.Verify(serverPrivate.Value.Span, server, machine, point, new string('0', 64)), hex);
            Assert.Throws<System.Security.Cryptography.CryptographicException>(() => NodeKeyProof.Create(serverPrivate, machine, new MachinePublicKey(point.Value)));

            bytes[31] |= 0x80;
            Assert.True(LowOrderPoints.Contains(Key32.FromSpan(bytes)), hex + " with the top bit");
        }

        Assert.False(LowOrderPoints.Contains(X25519Keys.PublicKeyOf(X25519Keys.GeneratePrivateKey()).Value));
    }

    [Fact]
    public void NodeKeyProof_RoundTrip_VerifiesOnlyForItsKeys()
    {
        var serverPrivate = X25519Keys.GeneratePrivateKey();
        var server = new MachinePublicKey(X25519Keys.PublicKeyOf(serverPrivate).Value);
        var machine = ControlClient.PublicKeyOf(ControlClient.GenerateMachineKey());
        var nodePrivate = X25519Keys.GeneratePrivateKey();
        var node = X25519Keys.PublicKeyOf(nodePrivate);

        var proof = NodeKeyProof.Create(nodePrivate, machine, server);

        Assert.Equal(64, proof.Length);
        Assert.True(NodeKeyProof.Verify(serverPrivate.Value.Span, server, machine, node, proof));
        Assert.False(NodeKeyProof.Verify(serverPrivate.Value.Span, server, ControlClient.PublicKeyOf(ControlClient.GenerateMachineKey()), node, proof));
        Assert.False(NodeKeyProof.Verify(X25519Keys.GeneratePrivateKey().Value.Span, server, machine, node, proof));
        Assert.False(NodeKeyProof.Verify(serverPrivate.Value.Span, server, machine, node, proof[..62] + (proof[62..] == "00" ? "01" : "00")));
        Assert.False(NodeKeyProof.Verify(serverPrivate.Value.Span, server, machine, node, "zz" + proof[2..]));
        Assert.False(NodeKeyProof.Verify(serverPrivate.Value.Span, server, machine, node, proof[..10]));
    }

    private static async Task<ReceivedFrame> ReadAsync(ControlClient client)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        try
        {
            return await client.Frames.ReceiveAsync(timeout.Token);
        }
        catch (WebSocketException)
        {
            // The server tore the socket down without a close: what a thrown handler did before.
            return default;
        }
    }

    private static async Task<ControlMessage?> ReadMessageAsync(ControlClient client) => (await ReadAsync(client)).Message;
}

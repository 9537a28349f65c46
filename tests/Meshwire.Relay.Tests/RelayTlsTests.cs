using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Meshwire.Relay.Tests;

public sealed class RelayTlsTests
{
    [Fact]
    public async Task Https_CertAndKeyPem_ClientsRelayOverTls()
    {
        var dir = Directory.CreateTempSubdirectory("meshwire-relay-tls");
        try
        {
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256);
            var san = new SubjectAlternativeNameBuilder();
            san.AddIpAddress(System.Net.IPAddress.Loopback);
            request.CertificateExtensions.Add(san.Build());
            using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
            var certPath = Path.Combine(dir.FullName, "relay.pem");
            var keyPath = Path.Combine(dir.FullName, "relay.key.pem");
            await File.WriteAllTextAsync(certPath, cert.ExportCertificatePem());
            await File.WriteAllTextAsync(keyPath, key.ExportPkcs8PrivateKeyPem());

            await using var relay = await RelayLab.StartAsync(RelayLab.Options with { CertificatePem = certPath, KeyPem = keyPath });
            Assert.Equal("https", relay.Url.Scheme);
            var trustThisOne = RelayLab.FastReconnect with
            {
                CertificateValidation = (_, presented, _, _) => presented?.GetCertHashString() == cert.GetCertHashString(),
            };
            await using var alice = await RelayLab.ConnectAsync(relay, options: trustThisOne);
            await using var bob = await RelayLab.ConnectAsync(relay, options: trustThisOne);
            Assert.True(alice.TrySend(bob.PublicKey, [1, 2, 3]));
            Assert.Equal(alice.PublicKey, (await RelayLab.ReceiveKindAsync(bob, new byte[64], RelayMessageKind.Packet)).Peer);

            await using var untrusting = new RelayClient(relay.Url, RelayKeys.GenerateNodeKey(), RelayLab.FastReconnect);
            await Assert.ThrowsAsync<RelayConnectException>(() => untrusting.ConnectAsync());
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}

#!/usr/bin/env python3
"""Independent second implementation of the WireGuard handshake (whitepaper section 5.4), written for Meshwire's
tests from the whitepaper alone, using Python's hashlib/hmac and the `cryptography` package instead of libsodium
and BouncyCastle. It prints the fixed-key vector that HandshakeVectorTests checks byte for byte.

This is a cross-check between two implementations of one reading of the spec, not a capture from wireguard-go or
the kernel: no published vector with fixed ephemeral keys was found.

    python3 generate_handshake_vector.py
"""
import hashlib
import hmac
import struct
from datetime import datetime, timezone

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

CONSTRUCTION = b"Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s"
IDENTIFIER = b"WireGuard v1 zx2c4 Jason@zx2c4.com"
LABEL_MAC1 = b"mac1----"


def HASH(data):
    return hashlib.blake2s(data).digest()


def MAC(key, data):
    return hashlib.blake2s(data, key=key, digest_size=16).digest()


def HMAC(key, data):
    return hmac.new(key, data, hashlib.blake2s).digest()


def KDF(n, key, data):
    t0 = HMAC(key, data)
    out, prev = [], b""
    for i in range(1, n + 1):
        prev = HMAC(t0, prev + bytes([i]))
        out.append(prev)
    return out


def AEAD(key, counter, plaintext, ad):
    return ChaCha20Poly1305(key).encrypt(b"\0" * 4 + struct.pack("<Q", counter), plaintext, ad)


def pub(priv):
    return X25519PrivateKey.from_private_bytes(priv).public_key().public_bytes_raw()


def DH(priv, public):
    return X25519PrivateKey.from_private_bytes(priv).exchange(X25519PublicKey.from_public_bytes(public))


def tai64n(dt):
    seconds = int(dt.timestamp())
    nanos = (dt.microsecond * 1000) & ~0xFFFFFF
    return struct.pack(">QI", 0x400000000000000A + seconds, nanos)


Si_priv = bytes.fromhex("e0" + "11" * 30 + "51")
Sr_priv = bytes.fromhex("e8" + "22" * 30 + "62")
Ei_priv = bytes.fromhex("f0" + "33" * 30 + "73")
Er_priv = bytes.fromhex("f8" + "44" * 30 + "44")
Q = bytes.fromhex("55" * 32)
I_i, I_r = 0x11223344, 0xA1B2C3D4
when = datetime(2024, 1, 2, 3, 4, 5, 500000, tzinfo=timezone.utc)

Si_pub, Sr_pub, Ei_pub, Er_pub = pub(Si_priv), pub(Sr_priv), pub(Ei_priv), pub(Er_priv)

# First message (5.4.2)
C = HASH(CONSTRUCTION)
H = HASH(C + IDENTIFIER)
H = HASH(H + Sr_pub)
C, = KDF(1, C, Ei_pub)
H = HASH(H + Ei_pub)
C, k = KDF(2, C, DH(Ei_priv, Sr_pub))
static = AEAD(k, 0, Si_pub, H)
H = HASH(H + static)
C, k = KDF(2, C, DH(Si_priv, Sr_pub))
timestamp = AEAD(k, 0, tai64n(when), H)
H = HASH(H + timestamp)
init = bytes([1, 0, 0, 0]) + struct.pack("<I", I_i) + Ei_pub + static + timestamp
init += MAC(HASH(LABEL_MAC1 + Sr_pub), init)
init += b"\0" * 16
assert len(init) == 148

# Second message (5.4.3)
C, = KDF(1, C, Er_pub)
H = HASH(H + Er_pub)
C, = KDF(1, C, DH(Er_priv, Ei_pub))
C, = KDF(1, C, DH(Er_priv, Si_pub))
C, tau, k = KDF(3, C, Q)
H = HASH(H + tau)
empty = AEAD(k, 0, b"", H)
resp = bytes([2, 0, 0, 0]) + struct.pack("<II", I_r, I_i) + Er_pub + empty
resp += MAC(HASH(LABEL_MAC1 + Si_pub), resp)
resp += b"\0" * 16
assert len(resp) == 92

# Transport keys (5.4.5)
T_send_i, T_recv_i = KDF(2, C, b"")

for name, value in [
    ("InitiatorStaticPrivate", Si_priv), ("ResponderStaticPrivate", Sr_priv),
    ("InitiatorEphemeralPrivate", Ei_priv), ("ResponderEphemeralPrivate", Er_priv), ("PresharedKey", Q),
    ("Initiation", init), ("Response", resp), ("InitiatorSend", T_send_i), ("InitiatorReceive", T_recv_i),
]:
    print(f'{name} = "{value.hex()}"')

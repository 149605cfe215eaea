"""A minimal Kafka login client for benchmarks: TCP connect, TLS handshake,
SaslHandshake v1 and SaslAuthenticate v1 carrying a SCRAM-SHA-256/512
exchange (RFC 5802/7677), then nothing else (api_versions() for a probe). Blocking sockets, so OpenSSL
does the handshake with the GIL released and many threads can be in flight.

The SCRAM arithmetic is the client's side only: Hi() is PBKDF2-HMAC from
hashlib. `SaltedPasswordCache` keeps Hi() per (salt, iterations); with it a
login costs the client a few HMACs, without it a full PBKDF2 (what a real
client pays on every new connection unless it caches too).
Raises LoginError on any protocol or authentication failure.
"""
import base64
import hashlib
import hmac
import os
import socket
import struct
import threading

MECHANISMS = {"SCRAM-SHA-256": "sha256", "SCRAM-SHA-512": "sha512"}


class LoginError(Exception):
    pass


class SaltedPasswordCache:
    """Hi(password, salt, i) memoized per (mechanism, salt, iterations); thread-safe."""

    def __init__(self, enabled=True):
        self.enabled = enabled
        self._lock = threading.Lock()
        self._values = {}

    def get(self, digest, password, salt, iterations):
        key = (digest, salt, iterations)
        if self.enabled:
            with self._lock:
                v = self._values.get(key)
            if v is not None:
                return v
        v = hashlib.pbkdf2_hmac(digest, password.encode(), salt, iterations)
        if self.enabled:
            with self._lock:
                self._values[key] = v
        return v


def _recv_exact(s, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise LoginError("connection closed by the server")
        buf += chunk
    return bytes(buf)


def _call(s, api_key, version, corr, body):
    """Sends one request (header v1, client id "bench") and returns the response body after the correlation id."""
    frame = struct.pack(">hhih", api_key, version, corr, 5) + b"bench" + body
    s.sendall(struct.pack(">i", len(frame)) + frame)
    size = struct.unpack(">i", _recv_exact(s, 4))[0]
    resp = _recv_exact(s, size)
    if struct.unpack(">i", resp[:4])[0] != corr:
        raise LoginError("correlation id mismatch")
    return resp[4:]


def _string(v):
    b = v.encode()
    return struct.pack(">h", len(b)) + b


def _authenticate(s, corr, token):
    r = _call(s, 36, 1, corr, struct.pack(">i", len(token)) + token)
    err, mlen = struct.unpack(">hh", r[:4])
    pos = 4 + max(mlen, 0)
    if err != 0:
        msg = r[4:pos].decode(errors="replace") if mlen > 0 else ""
        raise LoginError(f"SaslAuthenticate error {err}: {msg}")
    n = struct.unpack(">i", r[pos:pos + 4])[0]
    return r[pos + 4:pos + 4 + n]


def scram_login(s, mechanism, user, password, cache):
    """Runs SaslHandshake + the SCRAM exchange on the connected (TLS) socket `s`."""
    digest = MECHANISMS[mechanism]
    r = _call(s, 17, 1, 1, _string(mechanism))
    if struct.unpack(">h", r[:2])[0] != 0:
        raise LoginError(f"SaslHandshake error {struct.unpack('>h', r[:2])[0]}")
    cnonce = base64.b64encode(os.urandom(18)).decode()
    first_bare = f"n={user.replace('=', '=3D').replace(',', '=2C')},r={cnonce}"
    server_first = _authenticate(s, 2, ("n,," + first_bare).encode()).decode()
    fields = dict(kv.split("=", 1) for kv in server_first.split(","))
    nonce, salt, iterations = fields["r"], base64.b64decode(fields["s"]), int(fields["i"])
    if not nonce.startswith(cnonce):
        raise LoginError("server nonce does not extend the client's")
    salted = cache.get(digest, password, salt, iterations)
    client_key = hmac.new(salted, b"Client Key", digest).digest()
    stored_key = hashlib.new(digest, client_key).digest()
    without_proof = f"c=biws,r={nonce}"
    auth_message = f"{first_bare},{server_first},{without_proof}".encode()
    signature = hmac.new(stored_key, auth_message, digest).digest()
    proof = bytes(a ^ b for a, b in zip(client_key, signature))
    final = _authenticate(s, 3, f"{without_proof},p={base64.b64encode(proof).decode()}".encode()).decode()
    server_key = hmac.new(salted, b"Server Key", digest).digest()
    expected = base64.b64encode(hmac.new(server_key, auth_message, digest).digest()).decode()
    if not hmac.compare_digest(final, "v=" + expected):
        raise LoginError("bad server signature")


def api_versions(s, corr=7):
    """ApiVersions v0 on a connected socket; returns its error code."""
    return struct.unpack(">h", _call(s, 18, 0, corr, b"")[:2])[0]


def tls_connect(host, port, ctx, timeout=10):
    raw = socket.create_connection((host, port), timeout=timeout)
    try:
        return ctx.wrap_socket(raw, server_hostname=host)
    except BaseException:
        raw.close()
        raise

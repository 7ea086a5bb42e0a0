"""A throw-away certificate authority and an HTTPS server on 127.0.0.1 that presents a certificate it issued.

For tests of "internal network" trust: a client trusts the server only once it is given the CA.

    ca = TestCA()
    ca.write_ca(tmp_path / "ca.pem")
    with HttpsServer(ca) as server:
        context = ssl.create_default_context(cafile=tmp_path / "ca.pem")
        urllib.request.urlopen(server.url, context=context).read()  # b"hello from the internal network\\n"
"""

from __future__ import annotations

import collections
import datetime as dt
import ipaddress
import socket
import ssl
import tempfile
import threading
import types
from collections.abc import Sequence
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.support.serving import BackgroundServer

DEFAULT_BODY = b"hello from the internal network\n"
DEFAULT_HOSTNAMES = ("127.0.0.1", "localhost")
# Clients only check that now lies inside the validity window; a day of slack absorbs clock skew.
NOT_BEFORE_SLACK = dt.timedelta(days=1)
VALIDITY = dt.timedelta(days=30)


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Builder Tests"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _alt_name(hostname: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(hostname))
    except ValueError:
        return x509.DNSName(hostname)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


class TestCA:
    """A self-signed CA (P-256) that issues server certificates. `cert_pem` is what clients must trust."""

    # The name is the domain's, not a test's: keep pytest from trying to collect it.
    __test__ = False

    def __init__(self, common_name: str = "Builder Test CA") -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        public = self.key.public_key()
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(_name(common_name))
            .issuer_name(_name(common_name))
            .public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - NOT_BEFORE_SLACK)
            .not_valid_after(now + VALIDITY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
            .sign(self.key, hashes.SHA256())
        )
        self.cert_pem: bytes = self.cert.public_bytes(serialization.Encoding.PEM)

    def write_ca(self, path: Path) -> Path:
        """Write the CA certificate (PEM) to `path`, e.g. for `cafile=` or a container's trust store."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(self.cert_pem)
        return path

    def issue_server(self, hostnames: Sequence[str] = DEFAULT_HOSTNAMES) -> tuple[bytes, bytes]:
        """A server certificate for `hostnames` (IP addresses become IP SANs) and its key, both PEM."""
        if not hostnames:
            raise ValueError("a server certificate needs at least one hostname")
        key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name(hostnames[0]))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - NOT_BEFORE_SLACK)
            .not_valid_after(now + VALIDITY)
            .add_extension(x509.SubjectAlternativeName([_alt_name(name) for name in hostnames]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            # Strict verifiers (OpenSSL's X509_STRICT, Python 3.13's default context) require this.
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()), critical=False)
            .sign(self.key, hashes.SHA256())
        )
        return cert.public_bytes(serialization.Encoding.PEM), _key_pem(key)


class _Handler(BaseHTTPRequestHandler):
    """GET / (and HEAD /) answers the server's body; anything else is 404."""

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        owner: HttpsServer = self.server.owner  # type: ignore[attr-defined]
        found = self.path == "/"
        body = owner.body if found else b"not found\n"
        owner._record(self.path)
        self.send_response(HTTPStatus.OK if found else HTTPStatus.NOT_FOUND)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_HEAD = do_GET


class _TLSServer(ThreadingHTTPServer):
    def __init__(self, address: tuple[str, int], context: ssl.SSLContext, owner: HttpsServer) -> None:
        super().__init__(address, _Handler)
        self.context = context
        self.owner = owner

    def finish_request(self, request: socket.socket | tuple[bytes, socket.socket], client_address: Any) -> None:
        # The handshake runs here, in the connection's own thread, not in accept(): a client that stalls
        # or hangs up mid-handshake (one that does not trust the CA) cannot hold up the serve loop.
        assert isinstance(request, socket.socket)
        request.settimeout(10)
        try:
            tls = self.context.wrap_socket(request, server_side=True)
        except OSError:
            self.owner._record(None)
            return
        with tls:
            super().finish_request(tls, client_address)


class HttpsServer:
    """HTTPS on 127.0.0.1 (a free port) in a background thread, with a certificate issued by `ca`.

    Serving starts on entering the context (or `start()`) and stops on leaving it (or `close()`).
    `hits` counts answered requests by path; `handshake_failures` counts connections that failed TLS
    (a client rejecting the certificate, say). Both survive `close()`.
    """

    def __init__(self, ca: TestCA, body: bytes = DEFAULT_BODY, hostnames: Sequence[str] = DEFAULT_HOSTNAMES) -> None:
        self.ca = ca
        self.body = body
        self.hostnames = list(hostnames)
        self.hits: collections.Counter[str] = collections.Counter()
        self.handshake_failures = 0
        self._lock = threading.Lock()
        self._serving: BackgroundServer[_TLSServer] = BackgroundServer("tlsserver")

    def start(self) -> str:
        """Start serving (once); return the base URL."""
        if not self._serving.running:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.minimum_version = ssl.TLSVersion.TLSv1_2
            cert_pem, key_pem = self.ca.issue_server(self.hostnames)
            # load_cert_chain reads only files: keep the key on disk just long enough to load it.
            with tempfile.TemporaryDirectory(prefix="tlsserver-") as scratch:
                cert_file, key_file = Path(scratch) / "server.pem", Path(scratch) / "server.key"
                cert_file.write_bytes(cert_pem)
                key_file.write_bytes(key_pem)
                context.load_cert_chain(cert_file, key_file)
            self._serving.start(lambda address: _TLSServer(address, context, self))
        return self.url

    @property
    def _server(self) -> _TLSServer | None:
        # The live server, None when stopped: tests check which address it is bound to.
        return self._serving.server

    @property
    def port(self) -> int:
        if not self._serving.running:
            raise RuntimeError("the server is not running: call start() first")
        return self._serving.port

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}/"

    def close(self) -> None:
        self._serving.stop()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: types.TracebackType | None
    ) -> None:
        self.close()

    def _record(self, path: str | None) -> None:
        # None: the connection never got past the TLS handshake.
        with self._lock:
            if path is None:
                self.handshake_failures += 1
            else:
                self.hits[path] += 1

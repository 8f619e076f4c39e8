"""A private certificate authority and a forward proxy: the corporate network, on 127.0.0.1."""

from __future__ import annotations

import contextlib
import http.server
import ssl
import subprocess
import threading
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class PrivateCA:
    ca_pem: Path
    server_cert: Path
    server_key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.server_cert, self.server_key)
        return context


def make_private_ca(directory: Path) -> PrivateCA:
    """A CA no system trusts, and a certificate it signed for 127.0.0.1."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_key, ca_pem = directory / "ca.key", directory / "ca.pem"
    key, csr, cert = directory / "server.key", directory / "server.csr", directory / "server.pem"
    ext = directory / "san.ext"
    ext.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    steps = [
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            ca_key,
            "-out",
            ca_pem,
            "-days",
            "2",
            "-subj",
            "/CN=lambda-builder test CA",
        ],
        [
            "openssl",
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            key,
            "-out",
            csr,
            "-subj",
            "/CN=127.0.0.1",
        ],
        [
            "openssl",
            "x509",
            "-req",
            "-in",
            csr,
            "-CA",
            ca_pem,
            "-CAkey",
            ca_key,
            "-CAcreateserial",
            "-out",
            cert,
            "-days",
            "2",
            "-extfile",
            ext,
        ],
    ]
    for step in steps:
        subprocess.run([str(part) for part in step], check=True, capture_output=True)
    return PrivateCA(ca_pem, cert, key)


@dataclass
class ProxyLog:
    urls: list[str] = field(default_factory=list)


class _ProxyHandler(http.server.BaseHTTPRequestHandler):
    log: ProxyLog

    def do_GET(self) -> None:
        self.log.urls.append(self.path)
        try:
            with urllib.request.urlopen(self.path, timeout=30) as upstream:
                body = upstream.read()
                status = upstream.status
                content_type = upstream.headers.get("Content-Type", "application/octet-stream")
        except Exception as error:  # the proxy answers with the failure instead of hanging
            self.send_error(502, str(error))
            return
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def forward_proxy() -> Iterator[tuple[str, ProxyLog]]:
    """An HTTP proxy on 127.0.0.1 that records every URL it fetched for its clients."""
    log = ProxyLog()
    handler = type("Handler", (_ProxyHandler,), {"log": log})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    urllib.request.install_opener(opener)  # the proxy itself must not loop through a proxy
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", log
    finally:
        server.shutdown()
        server.server_close()

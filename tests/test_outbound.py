"""The outbound URL policy: which addresses the server may send to, and where it dials."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from ipaddress import IPv4Address, ip_address
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from openproctor import outbound
from openproctor.outbound import OutboundPolicy, OutboundRefused, Target
from tests.integrations.receiver import NON_PUBLIC_URLS, receiver


@pytest.mark.parametrize(("url", "reason"), NON_PUBLIC_URLS)
def test_each_kind_of_non_public_address_is_refused(url: str, reason: str) -> None:
    with pytest.raises(OutboundRefused) as refused:
        OutboundPolicy().vet(url, field="url")
    assert refused.value.reason == reason
    assert refused.value.message.startswith(f"url: refused: {reason}")


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://files.example.com/x", "only http and https URLs are allowed"),
        ("http:///no-host", "the URL has no host"),
    ],
)
def test_urls_that_name_no_web_host_are_refused(url: str, reason: str) -> None:
    with pytest.raises(OutboundRefused, match=reason):
        OutboundPolicy().vet(url)


@pytest.mark.parametrize(
    "url", ["http://93.184.215.14/hook", "https://[2606:4700:4700::1111]:8443/hook"]
)
def test_a_public_address_is_allowed_and_is_the_one_dialled(url: str) -> None:
    target = OutboundPolicy().vet(url)  # a literal address: nothing is resolved or sent
    assert target.address == ip_address(httpx.URL(url).host)


def test_the_allow_list_admits_its_hosts_and_networks_only() -> None:
    policy = OutboundPolicy.from_entries(["127.0.0.1/32", "10.20.0.0/16", "LocalHost"])
    assert policy.vet("http://127.0.0.1:9/").address == IPv4Address("127.0.0.1")
    assert policy.vet("http://10.20.3.4/").address == IPv4Address("10.20.3.4")
    assert policy.vet("http://localhost:9/").address.is_loopback
    for url in ("http://127.0.0.2/", "http://10.21.0.1/", "http://169.254.169.254/"):
        with pytest.raises(OutboundRefused):
            policy.vet(url)
    with pytest.raises(ValueError, match=r"'10\.0\.0\.1/8' is not a network"):
        OutboundPolicy.from_entries(["10.0.0.1/8"])


def test_the_request_goes_to_the_vetted_address_under_the_host_name() -> None:
    """The address is in the URL that is dialled; the Host header and, over https, the TLS
    server name (and so the certificate check) keep the name."""
    target = Target(httpx.URL("https://hooks.example.com:8443/in?a=1"), IPv4Address("192.0.2.7"))
    with outbound.client(1.0) as client:
        request = target.request(client, "POST", headers={"X-Test": "1"}, content=b"{}")
    assert str(request.url) == "https://192.0.2.7:8443/in?a=1"
    assert request.headers["host"] == "hooks.example.com:8443"
    assert request.extensions["sni_hostname"] == "hooks.example.com"
    assert request.headers["x-test"] == "1"

    policy = OutboundPolicy.from_entries(["localhost"])
    with receiver() as server, outbound.client(5.0) as client:
        port = httpx.URL(server.url).port
        url = f"http://localhost:{port}/hook"
        with policy.stream(client, "POST", url, headers={}, content=b"{}") as response:
            assert response.status_code == 200
        (got,) = server.requests
    assert got.headers["host"] == f"localhost:{port}"
    assert got.path == "/hook"


def test_a_redirect_is_returned_not_followed() -> None:
    policy = OutboundPolicy.from_entries(["127.0.0.1/32"])
    with receiver() as server, receiver() as elsewhere, outbound.client(5.0) as client:
        server.redirects["/hook"] = elsewhere.url + "/stolen"
        with policy.stream(client, "POST", server.url + "/hook", headers={}) as response:
            assert response.status_code == 302
    assert elsewhere.requests == []


def _certificate(tmp_path: Path, name: str) -> tuple[Path, Path]:
    """A self-signed certificate for the DNS name `name` only (no IP address in it)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / f"{name}.crt", tmp_path / f"{name}.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@contextmanager
def _tls_server(cert_path: Path, key_path: Path) -> Iterator[tuple[int, list[str]]]:
    """An https server on 127.0.0.1; yields its port and the TLS server names it was sent."""
    names: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            return

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    context.sni_callback = lambda _sock, name, _context: names.append(name) and None
    server = HTTPServer(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], names
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_over_https_the_certificate_is_checked_for_the_name_not_the_address_dialled(
    tmp_path: Path,
) -> None:
    """The pinned request dials 127.0.0.1, yet TLS sends the name and the certificate must
    be the name's: one made for the name passes, one made for another name does not."""
    policy = OutboundPolicy.from_entries(["localhost"])
    for cert_name, accepted in (("localhost", True), ("other.example", False)):
        cert_path, key_path = _certificate(tmp_path, cert_name)
        trust = ssl.create_default_context(cafile=str(cert_path))
        with (
            _tls_server(cert_path, key_path) as (port, names),
            httpx.Client(verify=trust, trust_env=False) as client,
        ):
            url = f"https://localhost:{port}/keys"
            if accepted:
                with policy.stream(client, "GET", url, headers={}) as response:
                    assert response.status_code == 204
            else:
                with (
                    pytest.raises(httpx.ConnectError, match="certificate verify failed"),
                    policy.stream(client, "GET", url, headers={}),
                ):
                    pass
            assert names == ["localhost"]

"""The outbound URL policy: which addresses the server may send to, and where it dials."""

from __future__ import annotations

from ipaddress import IPv4Address, ip_address

import httpx
import pytest

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

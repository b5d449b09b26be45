"""Requests the server makes to URLs an admin typed in (webhooks, exam completion callbacks,
LTI platform key sets): only to public addresses, unless the deployment allows a host or a
network (OPENPROCTOR_OUTBOUND_ALLOW).

A URL is vetted when it is saved and again before every request: its host is resolved and
refused if ANY address is not public. The request then dials the very address that was
vetted (the URL carries the address; the Host header and the TLS server name and certificate
check keep the host name), so a name that resolves elsewhere a moment later (DNS rebinding)
reaches nothing new. Redirects are never followed: a 3xx is an answer like any other.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network

import httpx

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network

SCHEMES = frozenset({"http", "https"})
DEFAULT_PORTS = {"http": 80, "https": 443}
# Not covered by the ipaddress module's flags the way we need them.
SHARED_CGNAT = IPv4Network("100.64.0.0/10")
UNIQUE_LOCAL = IPv6Network("fc00::/7")
NAT64_WELL_KNOWN = IPv6Network("64:ff9b::/96")  # the last 32 bits are an IPv4 address
NAT64_LOCAL_USE = IPv6Network("64:ff9b:1::/48")  # translated to whatever the operator chose
HOST_LABEL = re.compile(r"^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$")


class OutboundRefused(ValueError):
    """The URL may not be requested; `reason` says why in a few words, `field` names the
    setting that holds it when it is being saved."""

    def __init__(self, reason: str, field: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.field = field

    @property
    def message(self) -> str:
        """For the admin saving the URL."""
        message = f"{self.field or 'URL'}: refused: {self.reason}"
        if self.reason.endswith("address"):
            message += (
                ". The server sends requests only to public addresses, unless "
                "OPENPROCTOR_OUTBOUND_ALLOW lists the host or network"
            )
        return message


def _embedded_ipv4(address: IPv6Address) -> IPv4Address | None:
    """The IPv4 address an IPv6 form stands for: IPv4-mapped, 6to4 or NAT64."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in NAT64_WELL_KNOWN:
        return IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def non_public(address: IPAddress) -> str | None:
    """What kind of non-public address this is ("loopback address", ...); None if public."""
    if isinstance(address, IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            return non_public(embedded)
        if address in NAT64_LOCAL_USE:
            return "local-use NAT64 address"
    if address.is_loopback:
        return "loopback address"
    if address.is_link_local:
        return "link-local address"
    if address.is_unspecified:
        return "unspecified address"
    if address.is_multicast:
        return "multicast address"
    if isinstance(address, IPv4Address) and address in SHARED_CGNAT:
        return "shared (CGNAT) address"
    if isinstance(address, IPv6Address) and address in UNIQUE_LOCAL:
        return "unique-local address"
    if isinstance(address, IPv6Address) and address.is_site_local:
        return "site-local address"
    if address.is_reserved:
        return "reserved address"
    if address.is_private:
        return "private address"
    if not address.is_global:
        return "non-public address"  # documentation, benchmarking, protocol assignments
    return None


def describe_failure(error: httpx.HTTPError) -> str:
    """A short class for the delivery log: never the receiver's words or the socket's."""
    if isinstance(error, httpx.TimeoutException):
        return "timeout"
    if isinstance(error, httpx.ConnectError):
        return "connection failed"
    if isinstance(error, httpx.ProtocolError):
        return "protocol error"
    return "network error"


@dataclass(frozen=True, slots=True)
class Target:
    """A vetted URL and the address its requests go to."""

    url: httpx.URL
    address: IPAddress

    def request(
        self,
        client: httpx.Client,
        method: str,
        *,
        headers: Mapping[str, str],
        content: bytes | None = None,
    ) -> httpx.Request:
        extensions = {}
        if self.url.scheme == "https":
            # The certificate is checked against the name, not the address dialled.
            extensions["sni_hostname"] = self.url.raw_host.decode("ascii")
        return client.build_request(
            method,
            self.url.copy_with(host=str(self.address)),
            headers={**headers, "Host": self.url.netloc.decode("ascii")},
            content=content,
            extensions=extensions,
        )


@dataclass(frozen=True, slots=True)
class OutboundPolicy:
    """Which URLs may be requested: public addresses, plus the allowed hosts and networks."""

    allowed_hosts: frozenset[str] = frozenset()
    allowed_networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def from_entries(cls, entries: Iterable[str]) -> OutboundPolicy:
        """From host names and addresses or networks (CIDR); ValueError names a bad entry."""
        hosts: set[str] = set()
        networks: list[IPNetwork] = []
        for raw in entries:
            entry = raw.strip().lower().rstrip(".")
            try:
                networks.append(ip_network(entry.strip("[]")))
                continue
            except ValueError as error:
                if _is_address(entry.partition("/")[0].strip("[]")):  # a network, mistyped
                    raise ValueError(f"{raw!r} is not a network: {error}") from None
            if len(entry) > 253 or not all(map(HOST_LABEL.match, entry.split("."))):
                raise ValueError(f"{raw!r} is neither a host name nor an address or network")
            hosts.add(entry)
        return cls(frozenset(hosts), tuple(networks))

    def vet(self, url: str, *, field: str | None = None) -> Target:
        """The URL's target, if every address its host resolves to may be reached now;
        raises OutboundRefused (naming `field`, the setting being saved) otherwise."""
        try:
            return self._vet(url)
        except OutboundRefused as refusal:
            refusal.field = field
            raise

    def _vet(self, url: str) -> Target:
        try:
            parsed = httpx.URL(url)
        except httpx.InvalidURL:
            raise OutboundRefused("not a valid URL") from None
        if parsed.scheme not in SCHEMES:
            raise OutboundRefused("only http and https URLs are allowed")
        if parsed.userinfo:
            raise OutboundRefused("credentials in the URL are not allowed")
        host = parsed.raw_host.decode("ascii").lower().rstrip(".")  # IDNA-encoded
        if not host:
            raise OutboundRefused("the URL has no host")
        addresses = _resolve(host, parsed.port or DEFAULT_PORTS[parsed.scheme])
        if host not in self.allowed_hosts:
            for address in addresses:
                kind = non_public(address)
                if kind is not None and not self._allowed(address):
                    raise OutboundRefused(kind)
        return Target(parsed, addresses[0])

    def _allowed(self, address: IPAddress) -> bool:
        return any(address in network for network in self.allowed_networks)

    @contextmanager
    def stream(
        self,
        client: httpx.Client,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        content: bytes | None = None,
    ) -> Iterator[httpx.Response]:
        """Vets the URL now and sends the request to the vetted address; the body is read
        only if the caller reads it. Raises OutboundRefused or httpx.HTTPError."""
        request = self.vet(url).request(client, method, headers=headers, content=content)
        response = client.send(request, stream=True, follow_redirects=False)
        try:
            yield response
        finally:
            response.close()


def client(timeout_s: float) -> httpx.Client:
    """The client for OutboundPolicy.stream: no redirects, no proxy from the environment
    (the vetted address is the one dialled), and no kept-alive connections, since two hosts
    on one address would otherwise share a connection made (and TLS-checked) for one."""
    return httpx.Client(
        timeout=timeout_s,
        follow_redirects=False,
        trust_env=False,
        limits=httpx.Limits(max_keepalive_connections=0),
    )


def _is_address(text: str) -> bool:
    try:
        ip_address(text)
    except ValueError:
        return False
    return True


def _resolve(host: str, port: int) -> list[IPAddress]:
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise OutboundRefused("the host name does not resolve") from None
    addresses: list[IPAddress] = []
    for _family, _type, _proto, _name, sockaddr in found:
        address = ip_address(sockaddr[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise OutboundRefused("the host name does not resolve")
    return addresses

"""The public URL, the address every printed, copied or e-mailed link names: derived from where
the server listens (`make run`, `openproctor public-url`), and checked against it at start.

A link is only useful if a candidate's browser can open it. A server bound to 127.0.0.1 cannot
be reached from another machine, a link to 127.0.0.1 opens only on this one, and a link to
another port misses the server unless a reverse proxy sits in between.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

# Hosts that mean "every address of this machine" to bind().
WILDCARD_HOSTS = frozenset({"", "0.0.0.0", "::"})  # noqa: S104 (compared with, not bound)
# An address from TEST-NET-1 (RFC 5737): routed like any public address, never contacted.
_ROUTE_PROBE = ("192.0.2.1", 9)


def primary_address() -> str:
    """This machine's address on its default route, without sending anything: the source
    address the kernel picks for a UDP socket `connect`ed to a public address (connecting a
    UDP socket only looks up the route). 127.0.0.1 when the machine has no route out."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(_ROUTE_PROBE)
        except OSError:
            return "127.0.0.1"
        address: str = probe.getsockname()[0]
        return address


def url_for(host: str, port: int) -> str:
    """The base URL that reaches a server bound to host:port; for a wildcard bind, the machine's
    primary address, which other machines on the network can use."""
    if host in WILDCARD_HOSTS:
        host = primary_address()
    if ":" in host:  # an IPv6 literal
        host = f"[{host}]"
    return f"http://{host}:{port}"


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: not resolved here (no DNS lookups at start)


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def reach_warnings(public_url: str, *, host: str, port: int, behind_proxy: bool) -> list[str]:
    """Why links naming `public_url` would not reach a server bound to host:port, in words an
    operator can act on; [] when they would. `behind_proxy`: a reverse proxy answers for the
    public URL (it may then name any host and port)."""
    parts = urlsplit(public_url)
    # `openproctor serve` speaks plain HTTP: whatever answers an https URL is a proxy.
    behind_proxy = behind_proxy or parts.scheme == "https"
    public_host = parts.hostname or ""
    public_port = parts.port or (443 if parts.scheme == "https" else 80)
    fix = f"set OPENPROCTOR_PUBLIC_URL={url_for(host, port)}"
    problems = []
    if _is_loopback(public_host) and not _is_loopback(host):
        problems.append(
            f"links name {public_host}, which opens only on this machine, so candidates on "
            f"other machines cannot use them: {fix}"
        )
    elif not behind_proxy and _is_loopback(host) and not _is_loopback(public_host):
        problems.append(
            f"the server listens on {host}, which no other machine can reach, but links name "
            f"{public_host}: serve with --host 0.0.0.0 (make run HOST=0.0.0.0), or, with a "
            "reverse proxy on this machine, set OPENPROCTOR_TRUSTED_PROXIES=127.0.0.1"
        )
    elif (
        host not in WILDCARD_HOSTS
        and _is_address(host)
        and _is_address(public_host)
        and ipaddress.ip_address(host) != ipaddress.ip_address(public_host)
        and not behind_proxy
    ):
        problems.append(
            f"the server listens on {host} only, but links name {public_host}: {fix}, "
            "or serve with --host 0.0.0.0"
        )
    if public_port != port and not behind_proxy:
        problems.append(
            f"links name port {public_port}, but the server listens on port {port}: {fix}, or, "
            "behind a reverse proxy, set OPENPROCTOR_TRUSTED_PROXIES to its address"
        )
    return problems

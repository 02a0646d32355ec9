"""Where a webhook may be sent: http(s) URLs of public hosts only (no Django imports).

A webhook URL is chosen by a user but called by our servers, so it must not reach the machine
itself, the private network or the cloud's metadata service. The host is resolved when each
delivery is sent and every address it resolves to is checked; the request then goes to the
checked address (the Host header and the TLS server name stay the URL's host), so a name that
resolves to a public address for the check and a private one for the connection (DNS rebinding)
cannot slip through.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

MAX_URL_LENGTH = 2000


class Refused(Exception):
    """The URL may not be called; the message says why, in words a user can act on."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str  # with the query string

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == default else f"{host}:{self.port}"


def parse_target(url: str) -> Target:
    """The parts of a webhook URL; :class:`Refused` for anything but a plain http(s) URL."""
    url = (url or "").strip()
    if not url:
        raise Refused("Enter the URL to send events to, e.g. https://example.com/hooks/agileml.")
    if len(url) > MAX_URL_LENGTH:
        raise Refused(f"The URL is longer than {MAX_URL_LENGTH} characters.")
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise Refused("The URL contains spaces or control characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise Refused(f"The URL cannot be read: {exc}.") from None
    if parts.scheme not in ("http", "https"):
        raise Refused("The URL must start with http:// or https://.")
    if not parts.hostname:
        raise Refused("The URL has no host name.")
    if parts.username or parts.password:
        raise Refused("The URL must not contain a user name or password; use the signing secret instead.")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80), path)


def _is_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_loopback or ip.is_link_local)


def check_registration(url: str, *, allow_private: bool) -> Target:
    """What can be said about a URL without resolving it: obviously bad URLs are refused here.

    Names are resolved only when sending (they may change); an address literal or ``localhost``
    that is not public is refused at once.
    """
    target = parse_target(url)
    if allow_private:
        return target
    host = target.host.lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        raise Refused("The URL points at this machine (localhost); webhooks go to public addresses only.")
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return target
    if not _is_public(ip):
        raise Refused(f"The URL points at {ip}, which is not a public address; webhooks go to public addresses only.")
    return target


def resolve(target: Target, *, allow_private: bool) -> str:
    """The address to connect to: every address ``target.host`` resolves to must be public."""
    try:
        infos = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise Refused(f"{target.host} cannot be resolved: {exc}.") from None
    addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
    if not addresses:
        raise Refused(f"{target.host} resolves to no address.")
    if not allow_private:
        for ip in addresses:
            if not _is_public(ip):
                raise Refused(f"{target.host} resolves to {ip}, which is not a public address; delivery refused.")
    return str(addresses[0])

"""Where a webhook may post (SSRF): never to this host, its network or a cloud's metadata.

An endpoint's host is resolved when the subscription is made or changed, and again before
every delivery (a name may point elsewhere since): every address it resolves to must be a
public one. Loopback, private, shared (CGNAT), link-local (169.254.169.254, the metadata
service of most clouds), multicast, reserved and unspecified addresses are refused, also
when spelled as IPv4 inside IPv6. KEFU_WEBHOOK_ALLOW_NETWORKS lets listed networks through
(a receiver on the operator's own network, the tests' local one). A delivery is sent to the
address that was checked, so a second lookup cannot swap it; redirects are never followed.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from service.errors import UnsafeWebhookUrl

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
# Not covered by the flags of ``ipaddress``, yet a metadata service's address somewhere.
METADATA = tuple(
    ipaddress.ip_network(value)
    for value in ("169.254.169.254/32", "fd00:ec2::254/128", "100.100.100.200/32")
)


def why_refused(address: Address) -> str | None:
    """The kind of address a webhook may not reach, or None for a public one."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if any(address in network for network in METADATA):
        return "a metadata service"
    for kind in ("loopback", "link_local", "multicast", "private", "reserved", "unspecified"):
        if getattr(address, f"is_{kind}"):
            return kind.replace("_", "-")
    if not address.is_global:
        return "not public"
    return None


def networks(value: str) -> tuple[Network, ...]:
    return tuple(
        ipaddress.ip_network(item.strip(), strict=False)
        for item in value.split(",")
        if item.strip()
    )


@dataclass(frozen=True, slots=True)
class Target:
    """A checked endpoint: the URL to connect to (its address) and how to name the host."""

    url: str
    host: str
    address: Address

    def pinned_url(self) -> str:
        parts = urlsplit(self.url)
        literal = f"[{self.address}]" if self.address.version == 6 else str(self.address)
        netloc = literal if parts.port is None else f"{literal}:{parts.port}"
        return urlunsplit(parts._replace(netloc=netloc))

    @property
    def host_header(self) -> str:
        parts = urlsplit(self.url)
        return parts.netloc.rpartition("@")[2]


class Guard:
    def __init__(self, allowed: Sequence[Network], timeout_s: float) -> None:
        self.allowed = tuple(allowed)
        self.timeout_s = timeout_s

    def allows(self, address: Address) -> str | None:
        if any(address in network for network in self.allowed):
            return None
        return why_refused(address)

    async def check(self, url: str) -> Target:
        """The endpoint's first address, once every address it resolves to is allowed."""
        parts = urlsplit(url)
        host = parts.hostname or ""
        addresses = await self._resolve(
            host, parts.port or (443 if parts.scheme == "https" else 80)
        )
        for address in addresses:
            if (reason := self.allows(address)) is not None:
                raise UnsafeWebhookUrl(
                    f"{host} resolves to {address}, {reason}: webhooks post to public"
                    " addresses only (KEFU_WEBHOOK_ALLOW_NETWORKS lets a network through)",
                    address=str(address),
                    reason=reason,
                )
        return Target(url, host, addresses[0])

    async def _resolve(self, host: str, port: int) -> list[Address]:
        try:
            return [ipaddress.ip_address(host)]
        except ValueError:
            pass
        loop = asyncio.get_running_loop()
        try:
            found = await asyncio.wait_for(
                loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), self.timeout_s
            )
        except (OSError, TimeoutError, UnicodeError) as exc:
            raise UnsafeWebhookUrl(
                f"{host} does not resolve ({type(exc).__name__})", reason="unresolvable"
            ) from exc
        addresses: list[Address] = []
        for *_, sockaddr in found:
            address = ipaddress.ip_address(str(sockaddr[0]).partition("%")[0])
            if address not in addresses:
                addresses.append(address)
        if not addresses:
            raise UnsafeWebhookUrl(f"{host} does not resolve", reason="unresolvable")
        return addresses

"""Which browser origins may open a socket (``KEFU_ALLOWED_ORIGINS``).

A page on another site must not speak to the desk with its visitors' browsers, so a browser's
socket is refused (HTTP 403, before the upgrade) unless its ``Origin`` is allowed. A client that
sends no ``Origin`` is not a browser (a game backend, a test, a bot) and is let in: the header
is the browser's promise, not an identity.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from service.settings import Settings


def _origin(url: str) -> str | None:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower()


@dataclass(frozen=True, slots=True)
class Origins:
    any: bool
    exact: frozenset[str]
    # "https://*.example.com": the scheme and the dot-suffix every subdomain ends with.
    wildcards: tuple[tuple[str, str], ...]

    @classmethod
    def of(cls, settings: Settings) -> Origins:
        if settings.allowed_origins is not None:
            items = settings.allowed_origins.replace(",", " ").split()
        else:
            items = (settings.widget_frame_ancestors or "").split()
            if settings.public_url:
                items.append(settings.public_url)
        if "*" in items:
            return cls(True, frozenset(), ())
        exact: set[str] = set()
        wildcards: list[tuple[str, str]] = []
        for item in items:
            scheme, sep, host = item.partition("://")
            if sep and host.startswith("*."):
                wildcards.append((scheme.lower(), host[1:].rstrip("/").lower()))
            elif (origin := _origin(item)) is not None:
                exact.add(origin)
        return cls(False, frozenset(exact), tuple(wildcards))

    def allows(self, origin: str | None, host: str | None) -> bool:
        """``origin`` is the request's Origin header, ``host`` its Host header."""
        if origin is None or self.any:
            return True
        origin = origin.strip().lower()
        parts = urlsplit(origin)
        if host and parts.netloc == host.strip().lower():
            return True  # the same origin: the widget and console pages this server serves
        if origin in self.exact:
            return True
        return any(
            parts.scheme == scheme and parts.netloc.endswith(suffix)
            for scheme, suffix in self.wildcards
        )

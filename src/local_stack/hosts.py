"""Which Host headers the local servers answer: the DNS-rebinding guard they share."""

from __future__ import annotations

import ipaddress


def is_local_host(host: str) -> bool:
    """True for Host headers a local client sends: IP literals, localhost, host.docker.internal.

    A page on someone else's domain that rebinds its DNS to 127.0.0.1 still sends its own name,
    so refusing other names keeps such pages from reading the local stack's data.
    """
    name = host.strip().lower()
    if name.startswith("["):
        name = name[1 : name.find("]")] if "]" in name else name[1:]
    elif name.count(":") == 1:
        name = name.split(":", 1)[0]
    if name in ("localhost", "host.docker.internal") or name.endswith(".localhost"):
        return True
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True

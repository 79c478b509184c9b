"""Links and transfers between engines of different processes and hosts.

A listening engine (``llm.listenIpInfo``) serves a ZeroMQ ROUTER socket at exactly that address
(`listener`); a linking engine talks to it over a DEALER socket (`link`). Control messages are
msgpack maps checked field by field (`wire`). On one host the listener's pools are shared memory,
handed to peer processes of the same user over a Unix socket with a peer-credential check
(`fdpass`); a pull is then one copy by the C++ core from the mapped pool, GIL released.
"""

from __future__ import annotations

from .transport import TRANSPORT_OPTION, Transport, resolve_transport

__all__ = ["TRANSPORT_OPTION", "Transport", "resolve_transport"]

"""The peer in another process: a helper that imports the target and runs the other engine.

A target that allows one initialized ``LLMDataDist`` per process (the vendor package does)
cannot hold a PROMPT and a linked DECODER in the test process. In peer mode ``process`` the
suite starts a helper process (`server`) that imports the same target with the same adapter,
and drives the engine there over a small object RPC (`client`): construct target objects, call
their methods, get and set attributes, link, and read and write tensor bytes through the
helper's adapter. `mode` decides the peer mode when it is not given (``--peer``).
"""

from __future__ import annotations

from .client import PeerError, PeerProcess, RemoteObject, helper_for
from .mode import PEER_MODES, resolve_peer_mode

__all__ = [
    "PEER_MODES",
    "PeerError",
    "PeerProcess",
    "RemoteObject",
    "helper_for",
    "resolve_peer_mode",
]

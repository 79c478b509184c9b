"""Which transport an engine uses for links with other processes: the init option
``llm_datadist_ref.transport`` (else ``$LLM_DATADIST_REF_TRANSPORT``, else ``auto``)."""

from __future__ import annotations

import enum
import os
from collections.abc import Mapping

from .._status import LLMStatusCode, raise_status

__all__ = ["MOONCAKE_EXTRA", "TRANSPORT_OPTION", "Transport", "resolve_transport"]

TRANSPORT_OPTION = "llm_datadist_ref.transport"
TRANSPORT_ENV = "LLM_DATADIST_REF_TRANSPORT"
MOONCAKE_EXTRA = "pip install 'datadist-conformance[mooncake]'"


class Transport(enum.Enum):
    """``auto``: shared memory with a peer on this host, else a cross-host engine; ``shm``: shared
    memory only; ``mooncake``: Mooncake Transfer Engine even on one host; ``in-process``: no
    listener and no sockets, links only to engines of this process."""

    AUTO = "auto"
    SHM = "shm"
    MOONCAKE = "mooncake"
    IN_PROCESS = "in-process"


def resolve_transport(options: Mapping[str, str]) -> Transport:
    text = options.get(TRANSPORT_OPTION) or os.environ.get(TRANSPORT_ENV) or Transport.AUTO.value
    try:
        return Transport(text)
    except ValueError:
        raise_status(
            LLMStatusCode.LLM_PARAM_INVALID,
            f"{TRANSPORT_OPTION} {text!r} is not one of {[t.value for t in Transport]}",
        )

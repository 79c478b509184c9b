"""Status codes (the vendor's numeric values) and the LLMException that carries them."""

from __future__ import annotations

from enum import IntEnum
from typing import Any

__all__ = ["LLMException", "LLMStatusCode"]

_BASE = 0x5010B000


class LLMStatusCode(IntEnum):
    """Engine status codes; values are the vendor's ge:: codes (base 0x5010B000 + n)."""

    LLM_SUCCESS = 0
    LLM_FAILED = 0xFFFFFFFF
    LLM_WAIT_PROCESS_TIMEOUT = _BASE + 0x01
    LLM_KV_CACHE_NOT_EXIST = _BASE + 0x02
    LLM_REPEAT_REQUEST = _BASE + 0x03
    LLM_REQUEST_ALREADY_COMPLETED = _BASE + 0x04
    LLM_PARAM_INVALID = _BASE + 0x05
    LLM_ENGINE_FINALIZED = _BASE + 0x06
    LLM_NOT_YET_LINK = _BASE + 0x07
    LLM_ALREADY_LINK = _BASE + 0x08
    LLM_LINK_FAILED = _BASE + 0x09
    LLM_UNLINK_FAILED = _BASE + 0x0A
    LLM_NOTIFY_PROMPT_UNLINK_FAILED = _BASE + 0x0B
    LLM_CLUSTER_NUM_EXCEED_LIMIT = _BASE + 0x0C
    LLM_PROCESSING_LINK = _BASE + 0x0D
    LLM_DEVICE_OUT_OF_MEMORY = _BASE + 0x0E
    LLM_PREFIX_ALREADY_EXIST = _BASE + 0x0F
    LLM_PREFIX_NOT_EXIST = _BASE + 0x10
    LLM_SEQ_LENOVERLIMIT = _BASE + 0x11
    LLM_NO_FREE_BLOCK = _BASE + 0x12
    LLM_BLOCKS_OUT_OF_MEMORY = _BASE + 0x13
    LLM_EXIST_LINK = _BASE + 0x18
    LLM_FEATURE_NOT_ENABLED = _BASE + 0x19
    LLM_TIMEOUT = _BASE + 0x1A
    LLM_LINK_BUSY = _BASE + 0x1B
    LLM_OUT_OF_MEMORY = _BASE + 0x1C
    LLM_DEVICE_MEM_ERROR = 507053
    LLM_SUSPECT_REMOTE_ERROR = 507057
    LLM_UNKNOWN_ERROR = -1

    def __str__(self) -> str:
        return f"{type(self).__name__}.{self.name}"


class LLMException(RuntimeError):
    """A failure of the engine; ``status_code`` says which (LLM_FAILED unless given)."""

    def __init__(self, *args: Any, status_code: LLMStatusCode = LLMStatusCode.LLM_FAILED) -> None:
        super().__init__(*args)
        self._status_code = LLMStatusCode(status_code)

    @property
    def status_code(self) -> LLMStatusCode:
        return self._status_code

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (self.args, int(self._status_code)))


def _rebuild(args: tuple[Any, ...], status_code: int) -> LLMException:
    return LLMException(*args, status_code=LLMStatusCode(status_code))

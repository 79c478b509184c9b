"""Status codes (vendor numeric values) and the exceptions the API raises with them."""

from __future__ import annotations

from enum import IntEnum
from typing import NoReturn

__all__ = [
    "LLMException",
    "LLMParamValueError",
    "LLMStatusCode",
    "Status",
    "code_to_status",
    "error_from_core",
    "raise_if_false",
    "raise_if_true",
    "raise_status",
]

_BASE = 0x5010B000


class LLMStatusCode(IntEnum):
    """The vendor's status codes, with the vendor's numeric values (ge error codes)."""

    LLM_SUCCESS = 0
    LLM_FAILED = 0xFFFFFFFF
    LLM_PARAM_INVALID = _BASE + 0x005
    LLM_WAIT_PROCESS_TIMEOUT = _BASE + 0x001
    LLM_KV_CACHE_NOT_EXIST = _BASE + 0x002
    LLM_REPEAT_REQUEST = _BASE + 0x003
    LLM_REQUEST_ALREADY_COMPLETED = _BASE + 0x004
    LLM_ENGINE_FINALIZED = _BASE + 0x006
    LLM_NOT_YET_LINK = _BASE + 0x007
    LLM_ALREADY_LINK = _BASE + 0x008
    LLM_LINK_FAILED = _BASE + 0x009
    LLM_UNLINK_FAILED = _BASE + 0x00A
    LLM_NOTIFY_PROMPT_UNLINK_FAILED = _BASE + 0x00B
    LLM_CLUSTER_NUM_EXCEED_LIMIT = _BASE + 0x00C
    LLM_PROCESSING_LINK = _BASE + 0x00D
    LLM_DEVICE_OUT_OF_MEMORY = _BASE + 0x00E
    LLM_PREFIX_ALREADY_EXIST = _BASE + 0x00F
    LLM_PREFIX_NOT_EXIST = _BASE + 0x010
    LLM_SEQ_LENOVERLIMIT = _BASE + 0x011
    LLM_NO_FREE_BLOCK = _BASE + 0x012
    LLM_BLOCKS_OUT_OF_MEMORY = _BASE + 0x013
    LLM_EXIST_LINK = _BASE + 0x018
    LLM_FEATURE_NOT_ENABLED = _BASE + 0x019
    LLM_TIMEOUT = _BASE + 0x01A
    LLM_LINK_BUSY = _BASE + 0x01B
    LLM_OUT_OF_MEMORY = _BASE + 0x01C
    LLM_DEVICE_MEM_ERROR = 507053
    LLM_SUSPECT_REMOTE_ERROR = 507057
    LLM_UNKNOWN_ERROR = -1

    def __str__(self) -> str:
        return f"{self.__class__.__name__}.{self.name}"


class LLMException(RuntimeError):
    """A failure of the API, carrying an LLMStatusCode."""

    def __init__(
        self, *args: object, status_code: LLMStatusCode = LLMStatusCode.LLM_SUCCESS
    ) -> None:
        super().__init__(*args)
        self._status_code = status_code

    @property
    def status_code(self) -> LLMStatusCode:
        """The status code of the failure."""
        return self._status_code


class LLMParamValueError(LLMException, ValueError):
    """An argument value out of range.

    The document asks for ValueError where the vendor raises LLMException(LLM_PARAM_INVALID); this
    is both, so callers written against either keep working.
    """

    def __init__(self, *args: object) -> None:
        super().__init__(*args, status_code=LLMStatusCode.LLM_PARAM_INVALID)


class Status:
    """A status code with `is_ok()`, as the vendor returns from some calls."""

    def __init__(self, status: LLMStatusCode) -> None:
        self._status_code = status

    def is_ok(self) -> bool:
        return self._status_code == LLMStatusCode.LLM_SUCCESS

    @property
    def status_code(self) -> LLMStatusCode:
        return self._status_code


_BY_VALUE = {int(code): code for code in LLMStatusCode}


def code_to_status(code: int) -> LLMStatusCode:
    """The LLMStatusCode of a numeric code; unknown codes map to LLM_FAILED, as the vendor does."""
    return _BY_VALUE.get(code, LLMStatusCode.LLM_FAILED)


def error_from_core(code: int, message: str, is_value_error: bool) -> LLMException:
    """The exception for a failure reported by the C++ core (installed as its error factory)."""
    if is_value_error:
        return LLMParamValueError(message)
    return LLMException(message, status_code=code_to_status(code))


def raise_status(status: LLMStatusCode, message: str) -> NoReturn:
    raise LLMException(message, status_code=status)


def raise_if_false(
    condition: bool, message: str, status: LLMStatusCode = LLMStatusCode.LLM_PARAM_INVALID
) -> None:
    if not condition:
        raise LLMException(message, status_code=status)


def raise_if_true(
    condition: bool, message: str, status: LLMStatusCode = LLMStatusCode.LLM_PARAM_INVALID
) -> None:
    if condition:
        raise LLMException(message, status_code=status)

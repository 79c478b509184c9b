"""LLMClusterInfo and the IP/port forms the vendor accepts."""

from __future__ import annotations

import socket

from ._status import LLMStatusCode, raise_status
from ._types import LLMRole
from ._validate import check_isinstance, check_uint16, check_uint64

__all__ = ["LLMClusterInfo", "int_to_ip", "ip_to_int", "parse_listen_ip_info"]


def ip_to_int(ip: str | int) -> int:
    """An IPv4 address as the vendor stores it: dotted strings become little-endian ints."""
    if isinstance(ip, str):
        try:
            return int.from_bytes(socket.inet_aton(ip), byteorder="little")
        except OSError:
            raise ValueError(f"Can not parse ip str: {ip}") from None
    return ip


def int_to_ip(ip: int) -> str:
    """The dotted form of an IPv4 address stored as the vendor does (little-endian int)."""
    return socket.inet_ntoa(ip.to_bytes(4, byteorder="little"))


def parse_listen_ip_info(text: str) -> tuple[int, int]:
    """("ip:port") -> (ip as int, port); LLMException(PARAM_INVALID) when malformed."""
    parts = text.split(":")
    if len(parts) != 2 or not parts[1].isdigit():
        raise_status(
            LLMStatusCode.LLM_PARAM_INVALID,
            f'llm.listenIpInfo "{text}" is invalid, format should be "ip:port"',
        )
    try:
        ip = ip_to_int(parts[0])
    except ValueError as error:
        raise_status(LLMStatusCode.LLM_PARAM_INVALID, str(error))
    port = int(parts[1])
    if port > 2**16 - 1:
        raise_status(LLMStatusCode.LLM_PARAM_INVALID, f"port {port} out of range")
    return ip, port


class LLMClusterInfo:
    """A remote cluster to link to: its cluster id and IP addresses."""

    def __init__(self) -> None:
        self._remote_cluster_id: int | None = None
        self._remote_role_type: LLMRole | int | None = None
        self._local_ip_info_list: list[tuple[int, int]] = []
        self._remote_ip_info_list: list[tuple[int, int]] = []

    @property
    def remote_cluster_id(self) -> int | None:
        return self._remote_cluster_id

    @remote_cluster_id.setter
    def remote_cluster_id(self, remote_cluster_id: int) -> None:
        self._remote_cluster_id = check_uint64("remote_cluster_id", remote_cluster_id)

    @property
    def remote_role_type(self) -> LLMRole | int | None:
        return self._remote_role_type

    @remote_role_type.setter
    def remote_role_type(self, remote_role_type: LLMRole | int) -> None:
        check_isinstance("remote_role_type", remote_role_type, (LLMRole, int))
        self._remote_role_type = remote_role_type

    @property
    def local_ip_info_list(self) -> list[tuple[int, int]]:
        return self._local_ip_info_list

    @property
    def remote_ip_info_list(self) -> list[tuple[int, int]]:
        return self._remote_ip_info_list

    def append_local_ip_info(self, ip: str | int, port: int) -> None:
        self._local_ip_info_list.append(self._ip_port(ip, port))

    def append_remote_ip_info(self, ip: str | int, port: int) -> None:
        """Where the remote listens (its `listen_ip_info`); used to pick the remote when linking."""
        self._remote_ip_info_list.append(self._ip_port(ip, port))

    @staticmethod
    def _ip_port(ip: str | int, port: int) -> tuple[int, int]:
        check_isinstance("ip", ip, (str, int))
        check_uint16("port", port)
        return ip_to_int(ip), port

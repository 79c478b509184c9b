"""`LLMDataDist.link`'s arguments: the vendor's checks, and the rank table read as listener
addresses on a CPU machine.

A rank table is the HCCL JSON document (``server_list[].device[]`` with ``rank_id`` and
``device_ip``). With no HCCL to assign ports, the reference reads one more field per device,
``device_port``: the port of that rank's ``llm.listenIpInfo``. A rank given with a port is dialled by
the others; a rank without one is not dialled (it must dial the ranks that listen).
"""

from __future__ import annotations

import json
from typing import Any

from ._cluster import ip_to_int
from ._status import LLMStatusCode, raise_if_false, raise_status
from ._validate import check_dict, check_isinstance, check_uint32, check_uint64

__all__ = ["check_link_arguments", "rank_addresses"]

_MAX_COMM_NAME = 128
_MAX_CLUSTERS = 4


def check_link_arguments(comm_name: object, cluster_rank_info: object, rank_table: object) -> None:
    """TypeError / ValueError / LLMException(PARAM_INVALID) as the vendor's `link` raises them."""
    check_isinstance("comm_name", comm_name, str)
    assert isinstance(comm_name, str)
    raise_if_false(len(comm_name) > 0, "comm_name can not be empty")
    raise_if_false(len(comm_name) < _MAX_COMM_NAME, "comm_name length should be smaller than 128.")
    check_isinstance("cluster_rank_info", cluster_rank_info, dict)
    assert isinstance(cluster_rank_info, dict)
    check_dict("cluster_rank_info", cluster_rank_info, int, int)
    raise_if_false(
        len(cluster_rank_info) <= _MAX_CLUSTERS, "cluster_rank_info size can not be greater than 4."
    )
    for cluster_id, rank in cluster_rank_info.items():
        check_uint64("cluster_rank_info key", cluster_id)
        check_uint32("cluster_rank_info value", rank)
    check_isinstance("rank_table", rank_table, str)
    ranks = list(cluster_rank_info.values())
    raise_if_false(len(ranks) > 1, "cluster num must be bigger than 1.")
    raise_if_false(ranks == sorted(ranks), "rank in cluster_rank_info must be ordered")


def _device_entries(table: Any) -> list[dict[str, Any]]:
    if not isinstance(table, dict) or not isinstance(table.get("server_list"), list):
        raise ValueError("a rank table is an object with a server_list")
    devices: list[dict[str, Any]] = []
    for server in table["server_list"]:
        if not isinstance(server, dict) or not isinstance(server.get("device"), list):
            raise ValueError("each server_list entry has a device list")
        devices.extend(d for d in server["device"] if isinstance(d, dict))
    return devices


def rank_addresses(rank_table: str) -> dict[int, tuple[int, int]]:
    """{rank_id: (ip as the vendor stores it, port)} for every device that gives a device_port."""
    try:
        devices = _device_entries(json.loads(rank_table))
        addresses: dict[int, tuple[int, int]] = {}
        for device in devices:
            rank = int(device["rank_id"])
            if "device_port" in device:
                port = int(device["device_port"])
                raise_if_false(0 < port < 2**16, f"device_port {port} of rank {rank} out of range")
                addresses[rank] = (ip_to_int(str(device["device_ip"])), port)
    except (ValueError, KeyError, TypeError) as error:
        raise_status(LLMStatusCode.LLM_PARAM_INVALID, f"rank_table is not usable: {error}")
    return addresses

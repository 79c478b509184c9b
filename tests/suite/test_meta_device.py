"""Meta-tests: a target whose caches live in device memory, reached only through a copy function.

llm_datadist_fake_device (device/) is the reference with DEVICE caches' tensor_addrs turned into
fake device handles (device/fake_acl.py: host RAM behind non-canonical addresses). With the
suite's DeviceMemoryAdapter over fake_acl.memcpy it is certified, one engine per process with
the DECODER's bytes reached through the helper process; with the default adapter, which would
dereference the handles, the data checks crash: so the certified run never dereferenced one.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from datadist_conformance.runner import RunOptions, run_product

from .conftest import failures_text

SEED = 20261203
IMPL = "llm_datadist_fake_device"


@pytest.mark.slow
@pytest.mark.usefixtures("target_path")
def test_device_memory_target_is_certified_through_the_copy_function(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLM_DATADIST_REF_ONE_ENGINE", "1")
    run = run_product("atlas-a3", RunOptions(impl=IMPL, profile="quick", seed=SEED), tmp_path)
    assert run.implementation.get("adapter") == "fake_device_adapter:FakeDeviceAdapter"
    assert run.implementation.get("peer_mode") == "process", run.implementation
    assert run.certified, failures_text(run, replay=True)
    data = [t for t in run.tests if t.family == "data"]
    assert data, "no data-movement tests ran"
    assert all(t.outcome == "pass" for t in data), [(t.id, t.outcome) for t in data]


@pytest.mark.slow
@pytest.mark.usefixtures("target_path")
def test_the_default_adapter_would_dereference_device_handles(tmp_path: Path) -> None:
    options = RunOptions(
        impl=IMPL,
        adapter="datadist_conformance.adapter:Adapter",
        profile="quick",
        seed=SEED,
        only=("test_clause_property[copy_blocks.copies]",),
    )
    run = run_product("atlas-a3", options, tmp_path)
    assert "SIGSEGV" in run.crashed, run.crashed

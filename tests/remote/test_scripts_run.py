"""benchmarks/remote.py and the two-process example still run. Timings are not looked at."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCHMARK = ROOT / "benchmarks" / "remote.py"
EXAMPLE = ROOT / "examples" / "two_process_prompt_decoder.py"


def run(script: Path, *arguments: str, cwd: Path) -> str:
    """Runs a script as a user would: default transport (tests/conftest.py sets in-process)."""
    environment = {k: v for k, v in os.environ.items() if k != "LLM_DATADIST_REF_TRANSPORT"}
    result = subprocess.run(
        [sys.executable, str(script), *arguments],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env=environment,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.skipif(not BENCHMARK.is_file(), reason="benchmarks/ is not beside the tests")
def test_remote_benchmark_script_runs(tmp_path: Path) -> None:
    output = run(BENCHMARK, "--smoke", cwd=tmp_path)
    for name in ("pull_cache 64 KiB", "pull_blocks 4096 KiB", "control round trip"):
        assert name in output, output


@pytest.mark.skipif(not EXAMPLE.is_file(), reason="examples/ is not beside the tests")
def test_two_process_example_shows_pull_release_and_peer_failure(tmp_path: Path) -> None:
    output = run(EXAMPLE, cwd=tmp_path)
    assert "pulled by key: b'bbbb'" in output, output
    assert "second pull of the same key: LLM_KV_CACHE_NOT_EXIST" in output, output
    assert "pull from a dead PROMPT: LLM_TIMEOUT" in output, output
    assert "own cache is intact: b'aaaa'" in output, output

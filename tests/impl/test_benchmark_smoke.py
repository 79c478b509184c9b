"""benchmarks/run.py still runs (at tiny sizes). Its timings are not looked at."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "run.py"


@pytest.mark.skipif(not SCRIPT.is_file(), reason="benchmarks/ is not beside the tests")
def test_benchmark_script_runs() -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--smoke"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    for name in ("copy_blocks", "copy_cache", "swap_blocks", "pull_cache", "allocate+deallocate"):
        assert name in result.stdout

"""How long `datadist-conformance --help` takes to start, against a bare interpreter."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

from common import Row

# The same interpreter flags as this run (-S included: a run against another build's --target
# directory passes it so that an editable install's finder cannot take over).
PYTHON = [sys.executable, *(["-S"] if sys.flags.no_site else [])]
HELP = [*PYTHON, "-c", "from datadist_conformance.cli import main; main(['--help'])"]
BARE = [*PYTHON, "-c", "import argparse"]


def _seconds(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def bench_cli_start(repeat: int) -> list[Row]:
    """Median of `repeat` paired runs (after one warm-up of each)."""
    _seconds(HELP), _seconds(BARE)
    help_runs, bare_runs = [], []
    for _ in range(repeat):
        help_runs.append(_seconds(HELP))
        bare_runs.append(_seconds(BARE))
    help_s, bare_s = statistics.median(help_runs), statistics.median(bare_runs)
    ratio = statistics.median(h / b for h, b in zip(help_runs, bare_runs, strict=True))
    return [
        Row("datadist-conformance --help start", f"{help_s * 1e3:.0f} ms",
            f"{bare_s * 1e3:.0f} ms", ratio, "<= 80 ms", help_s <= 0.080)
    ]  # fmt: skip

"""The committed baseline: the reference's results on every product line, without volatile data.

There is one baseline per certification level (``reports/baseline/<level>/``).
A baseline holds what a rerun with the same profile and seed reproduces
exactly (outcomes, messages, example counts, the spec hash) and drops what it
does not (timestamps, durations, the machine's environment), so a regenerated
baseline differs from the committed one only where behaviour changed. It is
judged current by comparing the spec hash and the outcome of every test id,
nothing else.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from pathlib import Path

from ..results import RunResult
from ..speclib import Spec
from .diff import compare_runs
from .index import render_index_html, render_index_json
from .markdown import render_summary_markdown
from .writer import write_text_atomically

__all__ = [
    "BASELINE_DIR",
    "BASELINE_PROFILE",
    "BASELINE_SEED",
    "REFERENCE",
    "REGENERATE",
    "scrub",
    "stale_lines",
    "write_baseline",
]

#: Where the baseline lives, relative to the repository root.
BASELINE_DIR = "reports/baseline"
REFERENCE = "llm_datadist_ref"
#: The run the baseline records; `tox -e conformance` runs the reference the same way.
BASELINE_PROFILE = "quick"
BASELINE_SEED = 1
#: The one command that regenerates the baseline (every level), run from the repository root.
#: Each level's results are in ``BASELINE_DIR/<level>/`` (speclib.LEVELS).
REGENERATE = f"datadist-conformance report baseline {BASELINE_DIR}"


def scrub(run: RunResult) -> RunResult:
    """``run`` without timestamps, durations or environment; tests sorted by id."""
    clean = copy.deepcopy(run)
    clean.started = clean.finished = ""
    clean.environment = {}
    for test in clean.tests:
        test.duration = 0.0
    clean.tests.sort(key=lambda test: test.id)
    return clean


def write_baseline(out_dir: Path, runs: Iterable[RunResult], spec: Spec | None) -> list[Path]:
    """``<out>/<product>/results.json`` and ``summary.md`` per line, and the index.

    Stale product directories are removed, so the baseline holds exactly ``runs``.
    """
    clean = [scrub(run) for run in runs]
    keep = {run.product["id"] for run in clean}
    if out_dir.is_dir():
        for old in out_dir.glob("*/results.json"):
            if old.parent.name not in keep:
                for file in old.parent.iterdir():
                    file.unlink()
                old.parent.rmdir()
    written = []
    for run in clean:
        product_dir = out_dir / run.product["id"]
        results = product_dir / "results.json"
        results.parent.mkdir(parents=True, exist_ok=True)
        run.write(results)
        write_text_atomically(product_dir / "summary.md", render_summary_markdown(run, spec))
        written += [results, product_dir / "summary.md"]
    files = {"results": "results.json", "summary": "summary.md"}
    write_text_atomically(out_dir / "index.json", render_index_json(clean, spec, files))
    write_text_atomically(
        out_dir / "index.html", render_index_html(clean, spec, product_page="summary.md")
    )
    return [*written, out_dir / "index.json", out_dir / "index.html"]


def stale_lines(baseline: Mapping[str, RunResult], fresh: Mapping[str, RunResult]) -> list[str]:
    """How ``fresh`` differs from ``baseline`` in spec hash or per-test outcome; [] when current."""
    problems = []
    for product_id in sorted(baseline.keys() | fresh.keys()):
        old, new = baseline.get(product_id), fresh.get(product_id)
        if old is None or new is None:
            where = "the baseline" if old is None else "a fresh run"
            problems.append(f"{product_id}: missing from {where}")
            continue
        if old.spec_hash != new.spec_hash:
            problems.append(
                f"{product_id}: spec hash {old.spec_hash[:12]} in the baseline, "
                f"{new.spec_hash[:12]} now"
            )
        diff = compare_runs(product_id, old, new)
        for label, changes in (
            ("regressed", diff.regressions),
            ("fixed", diff.fixes),
            ("changed", diff.changed),
            ("new", diff.new_tests),
            ("removed", diff.removed_tests),
        ):
            problems += [
                f"{product_id}: {label} {change.test_id} ({change.old} -> {change.new})"
                for change in changes
            ]
    return problems

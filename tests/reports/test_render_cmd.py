"""`report render` and `report summary`, and write_reports as the runner calls it."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from datadist_conformance.cli import main
from datadist_conformance.reports import write_reports
from datadist_conformance.results import RunResult
from datadist_conformance.speclib import Spec

WriteSet = Callable[[Path, list[RunResult]], Path]
PER_PRODUCT = ("results.json", "junit.xml", "summary.md", "report.html")


def snapshot(directory: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(directory)): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def test_write_reports_writes_every_file_readable(
    tmp_path: Path, runs: list[RunResult], write_set: WriteSet, spec: Spec
) -> None:
    out = write_set(tmp_path / "out", runs)
    written = write_reports(out, runs, spec)
    assert sorted(p.name for p in written) == sorted(
        [*PER_PRODUCT[1:]] * 3 + ["index.json", "index.html"]
    )
    for run in runs:
        for name in PER_PRODUCT:
            assert (out / run.product["id"] / name).is_file()
    assert (out / "index.html").stat().st_mode & 0o044 == 0o044
    assert not list(out.rglob("*.tmp"))


def test_render_recreates_the_same_reports(
    tmp_path: Path,
    runs: list[RunResult],
    write_set: WriteSet,
    spec: Spec,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = write_set(tmp_path / "out", runs)
    write_reports(out, runs, spec)
    before = snapshot(out)
    (out / "atlas-a3" / "report.html").unlink()
    (out / "index.json").write_text("stale", "utf-8")
    assert main(["report", "render", str(out)]) == 0
    assert snapshot(out) == before
    assert "wrote 11 files for 3 product line(s)" in capsys.readouterr().out


def test_render_rejects_a_directory_without_results(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", "render", str(tmp_path)]) == 2
    assert "no <product>/results.json found" in capsys.readouterr().err


def test_summary_prints_each_line(
    tmp_path: Path, runs: list[RunResult], write_set: WriteSet, capsys: pytest.CaptureFixture[str]
) -> None:
    out = write_set(tmp_path / "out", runs)
    assert main(["report", "summary", str(out)]) == 0
    text = capsys.readouterr().out
    assert "atlas-a2-training  certified" in text
    assert "1 of 3 product lines certified" in text
    assert main(["report", "summary", str(out), "--require-certified"]) == 3
    certified = str(out / "atlas-a2-training" / "results.json")
    assert main(["report", "summary", certified, "--require-certified"]) == 0


def test_render_runs_as_a_command_from_anywhere(
    tmp_path: Path, runs: list[RunResult], write_set: WriteSet
) -> None:
    out = write_set(tmp_path / "out", runs)
    result = subprocess.run(
        [sys.executable, "-m", "datadist_conformance", "report", "render", str(out)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert (out / "index.html").is_file()

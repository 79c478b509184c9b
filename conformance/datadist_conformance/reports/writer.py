"""Write every report of an output directory: per product line, then the index.

Each file is written to a temporary name and renamed into place, and the index
comes last, so a reader (a CI artifact browser, a web server) never sees half a
report or an index that links to reports not yet written.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from ..results import RunResult
from ..speclib import Spec
from .html_report import render_html_report
from .index import PRODUCT_FILES, render_index_html, render_index_json
from .junit import render_junit
from .loading import load_result_set
from .markdown import render_summary_markdown

__all__ = ["render_directory", "write_reports", "write_text_atomically"]


def write_text_atomically(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` (UTF-8) in one rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as stream:
            stream.write(text)
        os.chmod(temporary, 0o644)  # mkstemp makes it private; reports are for reading
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_reports(out_dir: Path, runs: Iterable[RunResult], spec: Spec | None) -> list[Path]:
    """Render junit.xml, summary.md and report.html per product line, then index.html/json.

    ``out_dir/<product>/results.json`` is the runner's; it is not rewritten.
    Returns the paths written.
    """
    runs = list(runs)
    written: list[Path] = []
    for run in runs:
        product_dir = out_dir / run.product["id"]
        rendered = {
            PRODUCT_FILES["junit"]: render_junit(run),
            PRODUCT_FILES["summary"]: render_summary_markdown(run, spec),
            PRODUCT_FILES["html"]: render_html_report(run, spec),
        }
        for name, text in rendered.items():
            write_text_atomically(product_dir / name, text)
            written.append(product_dir / name)
    for name, text in (
        ("index.json", render_index_json(runs, spec)),
        ("index.html", render_index_html(runs, spec)),
    ):
        write_text_atomically(out_dir / name, text)
        written.append(out_dir / name)
    return written


def render_directory(out_dir: Path, spec: Spec | None) -> list[Path]:
    """Re-render every report of ``out_dir`` from its ``<product>/results.json`` files."""
    return write_reports(out_dir, load_result_set(out_dir).values(), spec)

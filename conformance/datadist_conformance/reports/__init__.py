"""Reports of conformance runs: JUnit XML, Markdown, HTML, the product-line index and diffs.

Every renderer is a pure function from :class:`~datadist_conformance.results.RunResult`
(and the spec, for clause texts) to text; :func:`write_reports` puts them on disk.
"""

from __future__ import annotations

from .diff import ProductDiff, RerunFn, ResultSetDiff, diff_result_sets
from .diff_render import render_diff_json, render_diff_markdown, render_diff_text
from .html_report import render_html_report
from .index import index_data, render_index_html, render_index_json
from .junit import render_junit
from .loading import ResultsError, load_result_set, load_results_file, results_schema
from .markdown import render_summary_markdown
from .terminal import print_progress, print_summary, progress_line
from .writer import render_directory, write_reports

__all__ = [
    "ProductDiff",
    "RerunFn",
    "ResultSetDiff",
    "ResultsError",
    "diff_result_sets",
    "index_data",
    "load_result_set",
    "load_results_file",
    "print_progress",
    "print_summary",
    "progress_line",
    "render_diff_json",
    "render_diff_markdown",
    "render_diff_text",
    "render_directory",
    "render_html_report",
    "render_index_html",
    "render_index_json",
    "render_junit",
    "render_summary_markdown",
    "results_schema",
    "write_reports",
]

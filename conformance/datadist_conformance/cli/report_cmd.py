"""`datadist-conformance report render|diff|summary`: reports from results.json files."""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..reports import (
    ResultsError,
    diff_result_sets,
    load_result_set,
    print_summary,
    render_diff_json,
    render_diff_markdown,
    render_diff_text,
    write_reports,
)
from ..reports.baseline import (
    BASELINE_DIR,
    BASELINE_PROFILE,
    BASELINE_SEED,
    REFERENCE,
    stale_lines,
    write_baseline,
)
from ..reports.diff import RerunFn
from ..reports.writer import write_text_atomically
from ..results import RunResult
from ..runner import RunOptions, rerun, run_products
from ..speclib import LEVELS, Spec, SpecError, load_spec

__all__ = ["register"]

#: Exit status of `report diff` when NEW regressed against OLD.
EXIT_REGRESSED = 1
#: Exit status when the inputs cannot be read.
EXIT_BAD_INPUT = 2
#: Exit status of --require-certified when a product line is not certified (and nothing regressed).
EXIT_NOT_CERTIFIED = 3


def register(commands: Any, summary: str) -> None:
    report = commands.add_parser("report", help=summary)
    actions = report.add_subparsers(dest="report_command", required=True, metavar="ACTION")

    render = actions.add_parser(
        "render",
        help="re-render junit.xml, summary.md, report.html and the index from results.json files",
    )
    render.add_argument("directory", type=Path, help="an output directory of `run --out`")
    _add_spec_dir(render)
    render.set_defaults(handler=_render)

    verdicts = actions.add_parser("summary", help="print each product line's verdict")
    verdicts.add_argument("results", type=Path, help="an output directory or one results.json")
    _add_require_certified(verdicts)
    _add_spec_dir(verdicts)
    verdicts.set_defaults(handler=_summary)
    _register_diff(actions)
    _register_baseline(actions)


def _register_diff(actions: Any) -> None:
    diff = actions.add_parser(
        "diff",
        help="compare two result sets per product line; exit 1 on any regression",
        description=(
            "Compare OLD and NEW (each an output directory of `run --out` or one results.json) "
            "per product line. A regression is a test that passed or failed as expected in OLD "
            "and fails or errors in NEW, a crash new in NEW, or a product line missing from NEW. "
            "Each regression is rerun --rerun times first and reported as flaky if the reruns "
            "disagree. When OLD or NEW is a single results.json, only that product line is compared."
        ),
    )
    diff.add_argument("old", type=Path, help="the earlier results (e.g. reports/baseline)")
    diff.add_argument("new", type=Path, help="the results to judge")
    diff.add_argument(
        "--rerun",
        type=_non_negative,
        default=2,
        metavar="N",
        help="rerun each new failure N times before calling it a regression (default: 2)",
    )
    diff.add_argument(
        "--impl", default=None, help="target module for reruns (default: the one NEW recorded)"
    )
    diff.add_argument(
        "--adapter", default=None, help="adapter for reruns (default: the one NEW recorded)"
    )
    diff.add_argument("--markdown", type=Path, default=None, help="also write the diff as Markdown")
    diff.add_argument("--json", type=Path, default=None, help="also write the diff as JSON")
    _add_require_certified(diff, " of NEW")
    _add_spec_dir(diff)
    diff.set_defaults(handler=_diff)


def _register_baseline(actions: Any) -> None:
    baseline = actions.add_parser(
        "baseline",
        help="regenerate the committed baseline of the reference on every product line",
        description=(
            f"Run the reference ({REFERENCE}) on every product line with profile "
            f"{BASELINE_PROFILE} and seed {BASELINE_SEED} at every certification level (or take "
            "those results from --from), drop timestamps, durations and the environment, and "
            "write results.json and summary.md per line plus the index to OUT/<level>/."
        ),
    )
    baseline.add_argument("out", type=Path, help=f"the baseline directory ({BASELINE_DIR})")
    baseline.add_argument(
        "--from",
        dest="source",
        metavar="RESULTS",
        type=Path,
        action="append",
        default=None,
        help=f"use these results (of a --profile {BASELINE_PROFILE} --seed {BASELINE_SEED} run; "
        "repeat for each level) instead of running the reference",
    )
    _add_spec_dir(baseline)
    baseline.set_defaults(handler=_baseline)


def _add_require_certified(parser: argparse.ArgumentParser, whose: str = "") -> None:
    parser.add_argument(
        "--require-certified",
        action="store_true",
        help=f"also exit {EXIT_NOT_CERTIFIED} when a product line{whose} is not certified",
    )


def _uncertified(runs: Iterable[RunResult]) -> list[str]:
    return [run.product["id"] for run in runs if not run.certified]


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {value}")
    return value


def _add_spec_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--spec-dir",
        type=Path,
        default=None,
        help="spec for clause texts (default: $DATADIST_CONFORMANCE_SPEC_DIR, else the installed spec)",
    )


def _spec(args: argparse.Namespace) -> Spec | None:
    try:
        return load_spec(args.spec_dir)
    except SpecError as exc:
        print(f"warning: spec not loaded, reports show bare clause ids: {exc}", file=sys.stderr)
        return None


def _render(args: argparse.Namespace) -> int:
    try:
        runs = load_result_set(args.directory)
    except ResultsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if not args.directory.is_dir():
        print(f"error: {args.directory} is not an output directory", file=sys.stderr)
        return EXIT_BAD_INPUT
    written = write_reports(args.directory, runs.values(), _spec(args))
    print(f"wrote {len(written)} files for {len(runs)} product line(s) under {args.directory}")
    print(f"open {args.directory / 'index.html'}")
    return 0


def _summary(args: argparse.Namespace) -> int:
    try:
        runs = load_result_set(args.results)
    except ResultsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    spec = _spec(args)
    ordered = [runs[pid] for pid in _in_spec_order(runs, spec)]
    print_summary(ordered, sys.stdout)
    if args.require_certified and _uncertified(runs.values()):
        return EXIT_NOT_CERTIFIED
    return 0


def _runner_rerun() -> RerunFn | None:
    """The runner's rerun; a seam for tests, which replace it with a scripted fake."""
    return rerun


def _in_spec_order(product_ids: Iterable[str], spec: Spec | None) -> list[str]:
    order = {product.id: i for i, product in enumerate(spec.products if spec else ())}
    return sorted(product_ids, key=lambda pid: (order.get(pid, len(order)), pid))


def _diff(args: argparse.Namespace) -> int:
    try:
        old = load_result_set(args.old)
        new = load_result_set(args.new)
    except ResultsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    spec = _spec(args)
    products = _in_spec_order(old.keys() | new.keys(), spec)
    singles = [runs for path, runs in ((args.old, old), (args.new, new)) if path.is_file()]
    if singles:  # a single results.json names the product lines to compare
        products = [p for p in products if any(p in runs for runs in singles)]
    result = diff_result_sets(
        old,
        new,
        rerun=_runner_rerun() if args.rerun else None,
        times=args.rerun,
        impl=args.impl,
        adapter=args.adapter,
        products=products,
    )
    sys.stdout.write(render_diff_text(result, str(args.old), str(args.new)))
    if args.markdown:
        write_text_atomically(
            args.markdown, render_diff_markdown(result, str(args.old), str(args.new))
        )
    if args.json:
        write_text_atomically(args.json, render_diff_json(result))
    if result.regressed:
        return EXIT_REGRESSED
    uncertified = _uncertified(new[p] for p in products if p in new)
    if args.require_certified and uncertified:
        print(f"not certified: {', '.join(uncertified)}", file=sys.stderr)
        return EXIT_NOT_CERTIFIED
    return 0


def _reference_runs(spec: Spec | None) -> list[RunResult]:
    """The reference on every product line at every level, run the way the baseline records it."""
    products = [product.id for product in (spec or load_spec()).products]
    runs = []
    for level in LEVELS:
        options = RunOptions(
            impl=REFERENCE, profile=BASELINE_PROFILE, seed=BASELINE_SEED, level=level
        )
        with tempfile.TemporaryDirectory(prefix="datadist-baseline-") as scratch:
            runs += run_products(products, options, Path(scratch))
    return runs


def _baseline(args: argparse.Namespace) -> int:
    spec = _spec(args)
    if not args.source:
        runs = _reference_runs(spec)
    else:
        try:
            runs = [run for source in args.source for run in load_result_set(source).values()]
        except ResultsError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_BAD_INPUT
        odd = [
            r.product["id"]
            for r in runs
            if (r.profile, r.seed) != (BASELINE_PROFILE, BASELINE_SEED)
        ]
        if odd:
            print(
                f"error: {', '.join(odd)} ran with another profile or seed; the baseline records "
                f"--profile {BASELINE_PROFILE} --seed {BASELINE_SEED}",
                file=sys.stderr,
            )
            return EXIT_BAD_INPUT
    for level in LEVELS:
        level_runs = [run for run in runs if run.level == level]
        if level_runs:
            _write_level(args.out / level, level, level_runs, spec)
    return 0


def _write_level(out: Path, level: str, runs: list[RunResult], spec: Spec | None) -> None:
    """One level's baseline, and what changed from the one it replaces."""
    try:
        previous = load_result_set(out)
    except ResultsError:
        previous = {}
    changes = stale_lines(previous, {run.product["id"]: run for run in runs}) if previous else []
    write_baseline(out, runs, spec)
    for change in changes:
        print(f"  {change}")
    verdicts = ", ".join(
        f"{r.product['id']} {'certified' if r.certified else 'NOT certified'}" for r in runs
    )
    print(f"wrote the {level} baseline of {len(runs)} product line(s) to {out}: {verdicts}")
    if previous:
        print(f"{len(changes)} change(s) from the previous {level} baseline")

"""`datadist-conformance spec validate|dump|coverage|divergences`: check, print and trace the
spec, and list where the shipped vendor package differs from it."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..speclib import Spec, SpecError, load_spec, spec_root
from ..speclib.divergences import render_divergences
from ..speclib.dump import dump

__all__ = ["register"]


def register(commands: Any, summary: str) -> None:
    spec = commands.add_parser("spec", help=summary)
    actions = spec.add_subparsers(dest="spec_command", required=True, metavar="ACTION")

    validate = actions.add_parser(
        "validate", help="validate every spec file; exit 1 on the first bad one"
    )
    _add_spec_dir(validate)
    validate.set_defaults(handler=_validate)

    dump_parser = actions.add_parser("dump", help="print the normalized spec as JSON on stdout")
    _add_spec_dir(dump_parser)
    dump_parser.set_defaults(handler=_dump)

    coverage_parser = actions.add_parser(
        "coverage", help="print every clause with the tests that check it; exit 1 if one has none"
    )
    _add_spec_dir(coverage_parser)
    coverage_parser.set_defaults(handler=_coverage)

    vendor = actions.add_parser(
        "vendor-expectations",
        help="print the bundled cann-as-shipped expectations, generated from vendor_observed notes",
    )
    vendor.add_argument(
        "--write", action="store_true", help="write it to the bundled file instead of printing it"
    )
    vendor.set_defaults(handler=_vendor_expectations)

    divergences_parser = actions.add_parser(
        "divergences",
        help="print every clause where the shipped vendor package is recorded to differ, with source",
    )
    _add_spec_dir(divergences_parser)
    divergences_parser.set_defaults(handler=_divergences)


def _add_spec_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--spec-dir",
        type=Path,
        default=None,
        help="spec directory (default: $DATADIST_CONFORMANCE_SPEC_DIR, else the installed spec)",
    )


def _loaded(args: argparse.Namespace) -> Spec | None:
    """The spec of --spec-dir, or None after printing each of its problems."""
    try:
        return load_spec(args.spec_dir)
    except SpecError as exc:
        for problem in exc.problems:
            print(f"error: {problem}", file=sys.stderr)
        return None


def _validate(args: argparse.Namespace) -> int:
    root = args.spec_dir or spec_root()
    try:
        spec = load_spec(root)
    except SpecError as exc:
        for problem in exc.problems:
            print(f"error: {problem}", file=sys.stderr)
        print(f"spec INVALID: {len(exc.problems)} problem(s) in {root}", file=sys.stderr)
        return 1
    print(
        f"spec OK: {len(spec.apis)} APIs, {len(spec.clauses())} clauses, "
        f"{len(spec.clause_kinds)} clause kinds, {len(spec.errata)} errata, "
        f"{len(spec.products)} product lines ({root})"
    )
    return 0


def _dump(args: argparse.Namespace) -> int:
    spec = _loaded(args)
    if spec is None:
        return 1
    json.dump(dump(spec), sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
    return 0


def _divergences(args: argparse.Namespace) -> int:
    spec = _loaded(args)
    if spec is None:
        return 1
    for line in render_divergences(spec):
        print(line)
    return 0


def _coverage(args: argparse.Namespace) -> int:
    from ..coverage import collect_tests, coverage

    spec = _loaded(args)
    if spec is None:
        return 1
    report = coverage(spec, collect_tests(args.spec_dir))
    for clause in spec.clauses():
        tests = report.tests_of[clause.id]
        if clause.id in report.informative:
            status = "informative (not tested)"
        elif not tests:
            status = "NO TEST"
        else:
            status = ", ".join(tests)
        print(f"{clause.id:<55} {clause.kind:<28} {status}")
    for test_id, clauses in report.unknown.items():
        print(f"error: {test_id} names unknown clauses {clauses}", file=sys.stderr)
    tested = len(spec.clauses()) - len(report.informative) - len(report.untested)
    print(
        f"{tested} clauses tested, {len(report.informative)} informative, "
        f"{len(report.untested)} without a test, {len(report.unknown)} tests naming unknown clauses"
    )
    return 0 if report.ok else 1


def _vendor_expectations(args: argparse.Namespace) -> int:
    from ..vendor_expectations import bundled_path, render_vendor_expectations

    text = render_vendor_expectations(load_spec())
    if not args.write:
        sys.stdout.write(text)
        return 0
    path = bundled_path("cann-as-shipped")
    assert path is not None
    path.write_text(text, "utf-8")
    print(f"wrote {path}")
    return 0

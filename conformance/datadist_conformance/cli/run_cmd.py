"""`datadist-conformance run`: certify an implementation on product lines and write reports."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from ..pytest_plugin import PROFILES
from ..reports import print_progress, print_summary, write_reports
from ..results import RunResult
from ..runner import RunOptions, TargetLoadError, run_products
from ..speclib import LEVELS, load_spec
from ..target import DEFAULT_IMPL, IMPL_ENV

__all__ = ["register"]

DEFAULT_OUT = "datadist-conformance-results"


def register(commands: Any) -> None:
    run = commands.add_parser(
        "run",
        help="certify an implementation on one or all product lines",
        description="Run the conformance suite against an implementation and write reports per product line.",
    )
    run.add_argument(
        "--impl",
        default=None,
        help=f"module under test (default: $DATADIST_CONFORMANCE_IMPL, else the bundled reference {DEFAULT_IMPL})",
    )
    run.add_argument("--product", default="all", help="a product line id, or 'all' (default)")
    run.add_argument(
        "--adapter",
        default=None,
        help="adapter as module:attr (default: the target's own, else the default adapter)",
    )
    run.add_argument(
        "--profile", default="ci", choices=sorted(PROFILES), help="hypothesis profile (default ci)"
    )
    run.add_argument(
        "--level",
        default="document",
        choices=LEVELS,
        help="certification level: document (what the seed document says; default) or "
        "as-shipped (plus what the vendor documents or ships elsewhere)",
    )
    run.add_argument(
        "--expectations", type=Path, default=None, help="YAML file of expected failures"
    )
    run.add_argument(
        "--out",
        type=Path,
        default=Path(DEFAULT_OUT),
        help=f"output directory (default ./{DEFAULT_OUT})",
    )
    run.add_argument(
        "--seed",
        type=int,
        default=0,
        help="hypothesis seed (default: a random one, recorded in the results)",
    )
    run.add_argument("--jobs", type=int, default=None, help="product lines run at once (default 2)")
    run.add_argument(
        "--only", nargs="+", default=(), metavar="TEST_ID", help="run only these tests"
    )
    run.add_argument(
        "--test-timeout", type=float, default=300.0, help="seconds before a hung test is killed"
    )
    run.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    spec = load_spec()
    known = [p.id for p in spec.products]
    products = known if args.product == "all" else [args.product]
    if any(p not in known for p in products):
        print(
            f"error: unknown product line {args.product!r}; known: all, {', '.join(known)}",
            file=sys.stderr,
        )
        return 2
    impl = args.impl or os.environ.get(IMPL_ENV) or DEFAULT_IMPL
    print(
        f"certifying {impl} at level {args.level} on {', '.join(products)} (profile {args.profile})"
    )
    options = RunOptions(
        impl=impl,
        adapter=args.adapter,
        profile=args.profile,
        level=args.level,
        seed=args.seed,
        expectations=args.expectations,
        test_timeout=args.test_timeout,
        only=tuple(args.only),
    )

    def progress(product_id: str, family: str, done: int, total: int) -> None:
        print_progress(sys.stdout, product_id, family, done, total)

    try:
        runs = run_products(products, options, args.out, jobs=args.jobs, progress=progress)
    except TargetLoadError as exc:
        print(f"error: cannot load the implementation {impl!r}: {exc}", file=sys.stderr)
        return 2
    write_reports(args.out, runs, spec)
    print()
    print_summary(runs, sys.stdout)
    _print_families(runs)
    first = runs[0].implementation
    print(
        f"{first.get('name', impl)} {first.get('version', '')} with adapter {first.get('adapter', '?')} "
        f"({first.get('capabilities', '')}); seed {runs[0].seed}"
    )
    print(f"reports in {args.out}/ (open {args.out / 'index.html'})")
    return 0 if all(run.certified for run in runs) else 1


def _print_families(runs: list[RunResult]) -> None:
    for run in runs:
        parts = [
            f"{family} {int(row['tests'])}t/{int(row['examples'])}ex/{row['seconds']:.1f}s"
            for family, row in run.families().items()
        ]
        print(f"  {run.product['id']}: " + "; ".join(parts))

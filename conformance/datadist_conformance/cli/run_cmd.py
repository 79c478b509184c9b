"""`datadist-conformance run`: certify an implementation on product lines and write reports."""

from __future__ import annotations

import argparse
import importlib.machinery
import os
import shutil
import sys
from pathlib import Path
from typing import Any

from ..expectations import ExpectationError, load_expectations
from ..peer.mode import PEER_MODES
from ..profiles import PROFILES
from ..reports import print_progress, print_summary, write_reports
from ..results import RunResult
from ..runner import RunOptions, RunUsageError, TargetLoadError, run_products
from ..speclib import LEVELS, load_spec
from ..target import DEFAULT_IMPL, IMPL_ENV
from ..verdicts import Exit, exit_status

__all__ = ["register"]

DEFAULT_OUT = "datadist-conformance-results"

EXIT_CODES = f"""exit status:
  {Exit.CERTIFIED:d}  certified: every requested product line, every applicable clause checked and held
  {Exit.NOT_CERTIFIED:d}  not certified: a test failed or errored, or the run crashed (also partial
     under --require-complete)
  {Exit.USAGE:d}  usage error: bad arguments, an unreadable --expectations file, an --out that is a
     file, unknown --only ids, nothing collected, a target or adapter that cannot be loaded
  {Exit.PARTIAL:d}  partial: nothing failed, but some applicable clauses were untestable
  {Exit.NO_EVIDENCE:d}  no evidence: nothing failed, but on some line no test passed
  {Exit.CRASH:d}  the suite itself crashed (a bug of the suite; the traceback is printed)"""

#: Typical time of one product line on a 2-core machine (measured; the README has the figures).
_PROFILE_TIMES = {"quick": "about 20 s", "ci": "about 40 s", "thorough": "several minutes"}


def _epilog() -> str:
    """The exit codes, the profiles with their example counts, and where the reports go."""
    profiles = "\n".join(
        f"  {name:<9} {PROFILES[name].max_examples:>5} examples per property, "
        f"{_PROFILE_TIMES.get(name, '?')} per product line"
        for name in ("quick", "ci", "thorough")
        if name in PROFILES
    )
    reports = (
        "reports (in --out):\n"
        "  index.html, index.json           every product line: verdicts, API x line matrix\n"
        "  <line>/report.html               one line: verdict, failures with replays, clauses\n"
        "  <line>/summary.md, junit.xml     the same for a PR comment and for CI test views\n"
        "  <line>/results.json              everything, for `report diff|render|summary`"
    )
    return f"{EXIT_CODES}\n\nprofiles:\n{profiles}\n\n{reports}"


def register(commands: Any, summary: str) -> None:
    run = commands.add_parser(
        "run",
        help=summary,
        description="Run the conformance suite against an implementation and write reports per product line.",
        epilog=_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument(
        "--impl",
        default=None,
        help=f"module under test (default: $DATADIST_CONFORMANCE_IMPL, else the bundled reference {DEFAULT_IMPL})",
    )
    run.add_argument("--product", default="all", help="a product line id, or 'all' (default)")
    _add_target_options(run)
    _add_run_options(run)
    run.set_defaults(handler=_run)


def _add_target_options(run: argparse.ArgumentParser) -> None:
    """How the target is reached and judged: adapter, profile, level, peer, expectations."""
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
        "--peer",
        default="auto",
        choices=PEER_MODES,
        help="where the DECODER of a linked pair runs: process (a helper process that imports "
        "the target), inprocess, or auto (default: process when the target refuses a second "
        "engine in one process)",
    )
    run.add_argument(
        "--expectations",
        type=_expectations_file,
        default=None,
        help="YAML file of expected failures, or the name of a bundled one (cann-as-shipped)",
    )


def _add_run_options(run: argparse.ArgumentParser) -> None:
    """Where the reports go and how the run is paced: out, seed, jobs, only, timeouts."""
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
    run.add_argument(
        "--require-complete",
        action="store_true",
        help=f"a partial verdict (untestable clauses) exits {Exit.NOT_CERTIFIED:d}, not {Exit.PARTIAL:d}",
    )


def _usage_error(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return Exit.USAGE


def _expectations_file(text: str) -> Path:
    """A path, or the name of a bundled expectations file (vendor_expectations.BUNDLED)."""
    from ..vendor_expectations import bundled_path

    path = Path(text)
    bundled = None if path.exists() else bundled_path(text)
    return bundled if bundled is not None else path


def _check_inputs(args: argparse.Namespace, known: list[str]) -> str:
    """What is wrong with the arguments, before anything runs or is written; "" when nothing."""
    if args.product != "all" and args.product not in known:
        return f"unknown product line {args.product!r}; known: all, {', '.join(known)}"
    if args.out.exists() and not args.out.is_dir():
        return f"--out {args.out} exists and is not a directory"
    if args.expectations is not None:
        try:
            load_expectations(args.expectations)
        except ExpectationError as exc:
            return f"--expectations: {exc}"
    impl = args.impl or os.environ.get(IMPL_ENV) or DEFAULT_IMPL
    if not _findable(impl):
        return (
            f"cannot load the implementation {impl!r}: no module named {impl.split('.')[0]!r} "
            "in the current directory, on PYTHONPATH or among the installed packages"
        )
    return ""


def _findable(module: str) -> bool:
    """Whether the top-level package of ``module`` exists where the test processes will look
    (the current directory, PYTHONPATH, sys.path), found without importing it."""
    top = module.split(".")[0]
    if not top.isidentifier():
        return False
    if top in sys.builtin_module_names:
        return True
    extra = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    path = [os.getcwd(), *(os.path.abspath(p) for p in extra), *sys.path]
    return importlib.machinery.PathFinder.find_spec(top, path) is not None


def _remove_new_output(out: Path, existed: set[Path] | None) -> None:
    """Remove what a run that ended in a usage error wrote (nothing half-written is left)."""
    if existed is None:
        shutil.rmtree(out, ignore_errors=True)
        return
    for path in out.iterdir():
        if path not in existed:
            shutil.rmtree(path) if path.is_dir() else path.unlink()


def _run(args: argparse.Namespace) -> int:
    spec = load_spec()
    known = [p.id for p in spec.products]
    problem = _check_inputs(args, known)
    if problem:
        return _usage_error(problem)
    products = known if args.product == "all" else [args.product]
    existed = set(args.out.iterdir()) if args.out.is_dir() else None
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
        peer=args.peer,
    )

    def progress(product_id: str, family: str, done: int, total: int) -> None:
        print_progress(sys.stdout, product_id, family, done, total)

    try:
        runs = run_products(products, options, args.out, jobs=args.jobs, progress=progress)
    except TargetLoadError as exc:
        _remove_new_output(args.out, existed)
        if exc.what == "adapter":
            return _usage_error(f"cannot load the adapter {exc}")
        return _usage_error(f"cannot load the implementation {impl!r}: {exc}")
    except RunUsageError as exc:
        _remove_new_output(args.out, existed)
        return _usage_error(str(exc))
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
    return exit_status(runs, require_complete=args.require_complete)


def _print_families(runs: list[RunResult]) -> None:
    for run in runs:
        parts = [
            f"{family} {int(row['tests'])}t/{int(row['examples'])}ex/{row['seconds']:.1f}s"
            for family, row in run.families().items()
        ]
        print(f"  {run.product['id']}: " + "; ".join(parts))

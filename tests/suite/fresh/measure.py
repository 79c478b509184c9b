"""Run the suite against every fresh single-rule target and print which ones it catches.

    python tests/suite/fresh/measure.py [--profile ci] [--seed N] [--only NAME ...]

Each target runs on atlas-a3 in its own suite process, as `datadist-conformance
run` would; a target is caught when the line is not certified. The failing
clauses are printed beside the clauses the target's rule belongs to (CAUGHT_BY).
"""

from __future__ import annotations

import argparse
import ast
import os
import sys
import tempfile
import time
from pathlib import Path

from datadist_conformance.runner import RunOptions, run_product

HERE = Path(__file__).parent
ALT_IMPL_DIR = HERE.parent / "alt_impl"


def fresh_targets() -> list[Path]:
    return sorted(HERE.glob("llm_datadist_fresh_*.py"))


def caught_by(path: Path) -> set[str]:
    for node in ast.parse(path.read_text("utf-8")).body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "CAUGHT_BY":
            return set(ast.literal_eval(node.value))
    return set()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="ci")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", nargs="*", default=[])
    args = parser.parse_args()
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [str(HERE), str(ALT_IMPL_DIR), *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    caught = 0
    targets = [
        p for p in fresh_targets() if not args.only or p.stem.split("fresh_")[1] in args.only
    ]
    for path in targets:
        start = time.monotonic()
        with tempfile.TemporaryDirectory() as out:
            options = RunOptions(impl=path.stem, profile=args.profile, seed=args.seed)
            run = run_product("atlas-a3", options, Path(out))
        hit = not run.certified
        caught += hit
        failing = set(run.failing_clauses)
        verdict = "CAUGHT" if hit else "missed"
        stray = sorted(failing - caught_by(path))
        print(
            f"{verdict:6} {path.stem.removeprefix('llm_datadist_fresh_'):32} "
            f"{time.monotonic() - start:5.1f}s seed {run.seed} failing {sorted(failing)}"
            + (f" (outside CAUGHT_BY: {stray})" if stray else ""),
            flush=True,
        )
    print(f"caught {caught} of {len(targets)} fresh targets (profile {args.profile})")
    return 0 if caught == len(targets) else 1


if __name__ == "__main__":
    sys.exit(main())

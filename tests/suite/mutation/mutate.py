"""Mutation testing of llm_datadist_alt's CacheManager logic against the suite's ``ci`` profile.

    python tests/suite/mutation/mutate.py [--sample N] [--session PATH] [--report-only]

cosmic-ray mutates the CacheManager methods of the legacy API (tests/suite/
alt_impl/llm_datadist_alt/_cache_manager.py) and the memory pool (_pool.py);
for each mutant, run_ci.py certifies atlas-a3 with the suite at profile ``ci``.
A mutant the suite certifies survived. Survivors listed in equivalent.yaml
(with the reason they cannot change any behaviour the document constrains)
are left out of the rate. ``--sample N`` tests every k-th mutant in scope, so
that about N run (each takes 10-60 s on a two-core machine). The kill rate is
printed; the exit status is 1 below GOAL.
"""

from __future__ import annotations

import argparse
import ast
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml
from cosmic_ray.work_db import WorkDB, use_db
from cosmic_ray.work_item import WorkerOutcome, WorkResult

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
ALT = HERE.parent / "alt_impl" / "llm_datadist_alt"
MODULES = (ALT / "_cache_manager.py", ALT / "_pool.py")
GOAL = 0.95

#: The legacy CacheManager's logic; the transfer API of other documents (pull_blocks,
#: push_cache, layer ranges) and engine plumbing (finalize, peers) are out of scope.
OUT_OF_SCOPE = {
    "_transfer_options",
    "_tensor_pairs",
    "_finalize",
    "_peer",
    "pull_blocks",
    "push_cache",
    "__init__",
}
#: Operators kept: neighbouring comparisons (off-by-one, ==/!=, in/not in), +/-, constants,
#: negations, and/or, loop and exception removal. Swapping in unrelated arithmetic operators
#: (<< for +, % for *) makes hundreds of mutants that crash at once and say little.
KEPT_OPERATORS = (
    "core/ReplaceComparisonOperator_Lt_LtE",
    "core/ReplaceComparisonOperator_LtE_Lt",
    "core/ReplaceComparisonOperator_Gt_GtE",
    "core/ReplaceComparisonOperator_GtE_Gt",
    "core/ReplaceComparisonOperator_Eq_NotEq",
    "core/ReplaceComparisonOperator_NotEq_Eq",
    "core/ReplaceComparisonOperator_Is_IsNot",
    "core/ReplaceComparisonOperator_IsNot_Is",
    "core/ReplaceComparisonOperator_In_NotIn",
    "core/ReplaceComparisonOperator_NotIn_In",
    "core/ReplaceBinaryOperator_Add_Sub",
    "core/ReplaceBinaryOperator_Sub_Add",
    "core/ReplaceBinaryOperator_Mul_Add",
    "core/ReplaceBinaryOperator_FloorDiv_Mul",
    "core/NumberReplacer",
    "core/AddNot",
    "core/ReplaceUnaryOperator",
    "core/ReplaceAndWithOr",
    "core/ReplaceOrWithAnd",
    "core/ReplaceTrueWithFalse",
    "core/ReplaceFalseWithTrue",
    "core/ZeroIterationForLoop",
    "core/ExceptionReplacer",
)


def mutant_id(module: Path, operator: str, line: int, column: int, occurrence: int) -> str:
    """A name for a mutant that stays put while the module does: file, position, operator."""
    return f"{module.name}:{line}:{column} {operator.removeprefix('core/')} #{occurrence}"


def _function_lines(module: Path) -> dict[int, str]:
    """Line -> the name of the innermost function defining it."""
    functions = sorted(
        (node.lineno, node.end_lineno or node.lineno, node.name)
        for node in ast.walk(ast.parse(module.read_text("utf-8")))
        if isinstance(node, ast.FunctionDef)
    )
    owner: dict[int, str] = {}
    for start, end, name in functions:  # an inner function starts later and wins
        owner.update(dict.fromkeys(range(start, end + 1), name))
    return owner


def _in_scope(
    module: Path, operator: str, line: int, functions: dict[Path, dict[int, str]]
) -> bool:
    kept = any(operator == op or operator.startswith(op + "_") for op in KEPT_OPERATORS)
    return kept and functions[module].get(line, "") not in OUT_OF_SCOPE | {""}


def _config(directory: Path) -> Path:
    config = directory / "cosmic-ray.toml"
    modules = ", ".join(f'"{m}"' for m in MODULES)
    config.write_text(
        "[cosmic-ray]\n"
        f"module-path = [{modules}]\n"
        "timeout = 600.0\n"
        "excluded-modules = []\n"
        f'test-command = "{sys.executable} {HERE / "run_ci.py"}"\n\n'
        '[cosmic-ray.distributor]\nname = "local"\n',
        "utf-8",
    )
    return config


def _select(db: WorkDB, sample: int | None) -> int:
    """Mark out-of-scope (and, with a sample, unsampled) mutants skipped; the number left."""
    functions = {m: _function_lines(m) for m in MODULES}
    scoped = []
    for item in db.pending_work_items:
        mutation = item.mutations[0]
        module = Path(mutation.module_path).resolve()
        if _in_scope(module, mutation.operator_name, mutation.start_pos[0], functions):
            scoped.append(item)
        else:
            db.set_result(
                item.job_id, WorkResult(worker_outcome=WorkerOutcome.SKIPPED, output="out of scope")
            )
    stride = max(1, len(scoped) // sample) if sample else 1
    for number, item in enumerate(scoped):
        if number % stride:
            db.set_result(
                item.job_id, WorkResult(worker_outcome=WorkerOutcome.SKIPPED, output="not sampled")
            )
    return len(scoped[::stride])


def _report(db: WorkDB) -> int:
    triage = yaml.safe_load((HERE / "equivalent.yaml").read_text("utf-8")) or {}
    equivalent = {entry["mutant"]: entry["reason"] for entry in triage.get("equivalent", [])}
    killed, survived, seen = 0, [], set()
    for item, result in db.results:
        if result.worker_outcome == WorkerOutcome.SKIPPED:
            continue
        m = item.mutations[0]
        name = mutant_id(Path(m.module_path), m.operator_name, *m.start_pos, m.occurrence)
        if result.worker_outcome != WorkerOutcome.NORMAL:
            print(f"  worker {result.worker_outcome}: {name}")
        if result.is_killed:
            killed += 1
        elif name in equivalent:
            seen.add(name)
        else:
            survived.append(name)
    for name in survived:
        print(f"  SURVIVED (not triaged): {name}")
    counted = killed + len(survived)
    rate = killed / counted if counted else 0.0
    print(
        f"mutation kill rate: {killed}/{counted} = {rate:.1%} of non-equivalent mutants "
        f"({len(seen)} equivalent survivors left out; goal {GOAL:.0%})"
    )
    return 0 if counted and rate >= GOAL else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=None, help="run about N mutants")
    parser.add_argument("--session", type=Path, default=None, help="keep the session here")
    parser.add_argument("--report-only", action="store_true", help="report an existing session")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="datadist-mutation-") as tmp:
        session = args.session or Path(tmp, "session.sqlite")
        config = _config(Path(tmp))
        cosmic_ray = [str(Path(sys.executable).parent / "cosmic-ray")]
        if not args.report_only:
            subprocess.run([*cosmic_ray, "init", str(config), str(session)], check=True, cwd=ROOT)
            with use_db(str(session), WorkDB.Mode.open) as db:
                print(f"{_select(db, args.sample)} mutants to run", flush=True)
            subprocess.run([*cosmic_ray, "exec", str(config), str(session)], check=True, cwd=ROOT)
        with use_db(str(session), WorkDB.Mode.open) as db:
            return _report(db)


if __name__ == "__main__":
    sys.exit(main())

"""Mutation testing of llm_datadist_alt's CacheManager logic against the suite's ``ci`` profile.

    python tests/suite/mutation/mutate.py [--sample N] [--seed S] [--session PATH]
                                          [--report-only | --resume]

cosmic-ray mutates the CacheManager methods of the legacy API (tests/suite/
alt_impl/llm_datadist_alt/_cache_manager.py) and the memory pool (_pool.py);
for each mutant, run_ci.py certifies atlas-a3 with the suite at profile ``ci``.
A mutant the suite certifies survived.

The unmutated implementation is run first with the same command and must
certify: otherwise every mutant would be "killed" by whatever already fails,
and the rate would measure nothing. Its outcome is kept next to the session,
and a session whose baseline did not certify is never reported.

The kill rate is killed / (mutants run - equivalent survivors). Survivors listed
in equivalent.yaml (with the reason no behaviour the document constrains can
tell them apart) are the only ones left out; timeouts, incompetent mutants (the
mutation or the worker failed) and untriaged survivors all count against the
rate, and each count is printed. A survivor that only another product line can
reach (a check of an unsupported feature set) is listed under ``other_line``
with that line: it is run there too (after that line's unmutated run
certifies), and counts as killed only when that run kills it.
``--sample N --seed S`` runs N mutants drawn at random (seeded, so the same
sample comes back) from those in scope; each takes 10-60 s on a two-core machine. The exit status is 1 below GOAL, 2 when the
baseline does not certify or the session is incomplete.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml
from cosmic_ray.mutating import mutate_and_test
from cosmic_ray.work_db import WorkDB, use_db
from cosmic_ray.work_item import TestOutcome, WorkerOutcome, WorkItem, WorkResult

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
ALT = HERE.parent / "alt_impl" / "llm_datadist_alt"
MODULES = (ALT / "_cache_manager.py", ALT / "_pool.py")
GOAL = 0.95
PRODUCT = "atlas-a3"
PRODUCT_ENV = "DATADIST_MUTATION_PRODUCT"  #: read by run_ci.py
TIMEOUT = 600.0  #: seconds per mutant

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
        f"timeout = {TIMEOUT}\n"
        "excluded-modules = []\n"
        f'test-command = "{sys.executable} {HERE / "run_ci.py"}"\n\n'
        '[cosmic-ray.distributor]\nname = "local"\n',
        "utf-8",
    )
    return config


def _name(item: WorkItem) -> str:
    m = item.mutations[0]
    line, column = m.start_pos
    return mutant_id(Path(m.module_path), m.operator_name, line, column, m.occurrence)


def _select(db: WorkDB, sample: int | None, seed: int) -> int:
    """Mark out-of-scope (and, with a sample, unsampled) mutants skipped; the number left.

    The sample is drawn from the mutants in scope sorted by name (job ids are random),
    so the same seed and sources give the same sample.
    """
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
    scoped.sort(key=_name)
    chosen = scoped
    if sample is not None and sample < len(scoped):
        chosen = random.Random(seed).sample(scoped, sample)
    keep = {item.job_id for item in chosen}
    for item in scoped:
        if item.job_id not in keep:
            db.set_result(
                item.job_id, WorkResult(worker_outcome=WorkerOutcome.SKIPPED, output="not sampled")
            )
    print(f"{len(scoped)} mutants in scope; running {len(chosen)}", flush=True)
    return len(chosen)


def _record(session: Path, what: str) -> Path:
    return session.with_name(f"{session.name}.{what}.json")


def _certifies(product: str) -> tuple[bool, str]:
    """Run the test command on the unmutated sources for ``product``: (certified, verdict)."""
    done = subprocess.run(
        [sys.executable, str(HERE / "run_ci.py")],
        cwd=ROOT,
        env=dict(os.environ, **{PRODUCT_ENV: product}),
        capture_output=True,
        text=True,
        check=False,
    )
    lines = done.stdout.strip().splitlines()
    said = lines[-1] if lines else f"no output (exit status {done.returncode})"
    if done.returncode != 0:
        print(done.stdout[-4000:] + done.stderr[-4000:], file=sys.stderr)
    return done.returncode == 0, said


def _baseline(session: Path) -> bool:
    """Run the unmutated implementation on PRODUCT; record and return whether it certified."""
    print("baseline: the unmutated implementation must certify first", flush=True)
    certified, said = _certifies(PRODUCT)
    record = {"certified": certified, "verdict": said}
    _record(session, "baseline").write_text(json.dumps(record) + "\n", "utf-8")
    print(f"baseline: {said}", flush=True)
    return certified


def _baseline_certified(session: Path) -> bool:
    path = _record(session, "baseline")
    if not path.is_file():
        print(f"no baseline record {path}: the session's unmutated run is unknown")
        return False
    record = json.loads(path.read_text("utf-8"))
    if not record.get("certified"):
        print(f"the unmutated implementation did not certify: {record.get('verdict')}")
    return bool(record.get("certified"))


def _triage() -> tuple[dict[str, str], dict[str, str]]:
    """equivalent.yaml: {mutant: reason} of equivalents, {mutant: product} of other-line ones."""
    triage = yaml.safe_load((HERE / "equivalent.yaml").read_text("utf-8")) or {}
    equivalent = {entry["mutant"]: entry["reason"] for entry in triage.get("equivalent") or []}
    elsewhere = {entry["mutant"]: entry["product"] for entry in triage.get("other_line") or []}
    return equivalent, elsewhere


def _run_elsewhere(db: WorkDB, session: Path) -> None:
    """Run each survivor that only another product line reaches on that line (listed in
    equivalent.yaml under other_line), once that line's unmutated run certifies; the outcome
    is recorded next to the session, and only a kill measured there counts."""
    _, elsewhere = _triage()
    results = dict(db.results)
    outcomes: dict[str, dict[str, str]] = {}
    baselines: dict[str, tuple[bool, str]] = {}
    command = f"{sys.executable} {HERE / 'run_ci.py'}"
    for item in db.work_items:
        name = _name(item)
        if name not in elsewhere or _outcome(results.get(item.job_id)) != "survived":
            continue
        product = elsewhere[name]
        if product not in baselines:
            baselines[product] = _certifies(product)
            print(f"baseline on {product}: {baselines[product][1]}", flush=True)
        outcome = "baseline not certified"
        if baselines[product][0]:
            os.environ[PRODUCT_ENV] = product
            try:
                outcome = _outcome(mutate_and_test(item.mutations, command, TIMEOUT))
            finally:
                del os.environ[PRODUCT_ENV]
        print(f"  {name} on {product}: {outcome}", flush=True)
        outcomes[name] = {"product": product, "outcome": outcome}
    _record(session, "other-line").write_text(json.dumps(outcomes, indent=1) + "\n", "utf-8")


def _outcome(result: WorkResult | None) -> str:
    """killed, timeout, incompetent, survived or not run."""
    if result is None:
        return "not run"
    if result.worker_outcome != WorkerOutcome.NORMAL or result.test_outcome is None:
        return "incompetent"  # cosmic-ray counts these as killed; no test judged them
    if result.test_outcome == TestOutcome.KILLED:
        return "timeout" if result.output == "timeout" else "killed"
    if result.test_outcome == TestOutcome.INCOMPETENT:
        return "incompetent"
    return "survived"


def _report(db: WorkDB, session: Path) -> int:
    equivalent, _ = _triage()
    path = _record(session, "other-line")
    elsewhere = json.loads(path.read_text("utf-8")) if path.is_file() else {}
    results = dict(db.results)
    counts = dict.fromkeys(("killed", "timeout", "incompetent", "survived", "not run"), 0)
    seen = other = 0
    for item in db.work_items:
        result = results.get(item.job_id)
        if result is not None and result.worker_outcome == WorkerOutcome.SKIPPED:
            continue
        outcome, name = _outcome(result), _name(item)
        if outcome == "survived" and name in equivalent:
            seen += 1
            continue
        if outcome == "killed" and name in equivalent:
            print(f"  KILLED but listed as equivalent (remove the entry): {name}")
        if outcome == "survived" and elsewhere.get(name, {}).get("outcome") == "killed":
            outcome, other = "killed", other + 1
            print(f"  killed only on {elsewhere[name]['product']}: {name}")
        counts[outcome] += 1
        if outcome != "killed":
            print(f"  {outcome.upper()}: {name}")
    if counts["not run"]:
        print(f"{counts['not run']} mutants have no result yet: run the session to the end")
        return 2
    judged = sum(counts.values())
    rate = counts["killed"] / judged if judged else 0.0
    print(
        f"mutation kill rate: {counts['killed']}/{judged} = {rate:.1%} of non-equivalent mutants "
        f"({judged + seen} run, {seen} equivalent, {counts['survived']} survived, "
        f"{counts['timeout']} timed out, {counts['incompetent']} incompetent; "
        f"{other} of the killed only on another product line; goal {GOAL:.0%})"
    )
    return 0 if judged and rate >= GOAL else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=None, help="run N mutants drawn at random")
    parser.add_argument("--seed", type=int, default=1, help="seed of the sample (default 1)")
    parser.add_argument("--session", type=Path, default=None, help="keep the session here")
    parser.add_argument("--report-only", action="store_true", help="report an existing session")
    parser.add_argument(
        "--resume",
        action="store_true",
        help="finish an existing session: its pending mutants, then the other-line survivors",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="datadist-mutation-") as tmp:
        session = (args.session or Path(tmp, "session.sqlite")).resolve()
        config = _config(Path(tmp))
        cosmic_ray = [str(Path(sys.executable).parent / "cosmic-ray")]
        if not (args.report_only or args.resume):
            if not _baseline(session):
                return 2
            subprocess.run([*cosmic_ray, "init", str(config), str(session)], check=True, cwd=ROOT)
            with use_db(str(session), WorkDB.Mode.open) as db:
                _select(db, args.sample, args.seed)
        if args.resume and not _baseline_certified(session):
            return 2
        if not args.report_only:
            subprocess.run([*cosmic_ray, "exec", str(config), str(session)], check=True, cwd=ROOT)
        if not _baseline_certified(session):
            return 2
        with use_db(str(session), WorkDB.Mode.open) as db:
            if not args.report_only:
                _run_elsewhere(db, session)
            return _report(db, session)


if __name__ == "__main__":
    sys.exit(main())

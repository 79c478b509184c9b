"""Compare two result sets product line by product line, and confirm regressions by rerunning.

A regression is a test that passed (or failed as expected) in OLD and fails or
errors in NEW, a test or clause that OLD has and NEW lacks (a suite or target that
silently drops tests must not look green), a worse verdict, a run that crashed in
NEW but not in OLD, or a product line that OLD has and NEW lacks. Before a test is
called a regression it is rerun with NEW's seed; when those reruns disagree with
each other or with NEW it is reported as flaky instead (the WPT stability check
does the same with 10 reruns). It is also rerun with fresh seeds, so that a failure
that only NEW's seed triggers is told apart (``seed-dependent``, still a regression).
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

from ..results import APPLICABLE_FAILURES, RunResult
from ..verdicts import VERDICTS

__all__ = [
    "Change",
    "ProductDiff",
    "RerunFn",
    "ResultSetDiff",
    "compare_runs",
    "confirm_regressions",
    "diff_result_sets",
    "fresh_seeds",
]

#: Outcomes a test may leave without it being a regression.
_GOOD = frozenset({"pass", "expected-fail"})


class RerunFn(Protocol):
    """The shape of ``datadist_conformance.runner.rerun``: test id -> outcome."""

    def __call__(
        self,
        impl: str,
        product: str,
        test_ids: list[str],
        *,
        adapter: str | None,
        profile: str,
        seed: int,
        level: str = ...,
    ) -> dict[str, str]: ...


@dataclass(frozen=True)
class Change:
    """One test whose outcome differs between OLD and NEW (None: the test is absent)."""

    test_id: str
    old: str | None
    new: str | None
    clauses: tuple[str, ...] = ()
    reruns: tuple[str, ...] = ()  #: outcomes of the confirming reruns (NEW's seed), in order
    fresh_reruns: tuple[str, ...] = ()  #: outcomes of the reruns with fresh seeds, in order
    fresh_seeds: tuple[int, ...] = ()

    @property
    def seed_dependent(self) -> bool:
        """Fails again with NEW's seed, passes with some fresh seed."""
        return any(outcome in _GOOD for outcome in self.fresh_reruns)


@dataclass
class ProductDiff:
    """What changed on one product line."""

    product_id: str
    old: RunResult | None
    new: RunResult | None
    regressions: list[Change] = field(default_factory=list)
    flaky: list[Change] = field(default_factory=list)
    fixes: list[Change] = field(default_factory=list)
    new_tests: list[Change] = field(default_factory=list)
    removed_tests: list[Change] = field(default_factory=list)
    changed: list[Change] = field(default_factory=list)
    new_clauses: list[str] = field(default_factory=list)
    removed_clauses: list[str] = field(default_factory=list)
    metadata: list[tuple[str, str, str]] = field(default_factory=list)  #: (what, old, new)
    notes: list[str] = field(default_factory=list)

    @property
    def line_missing(self) -> bool:
        """OLD has results for this line and NEW has none."""
        return self.old is not None and self.new is None

    @property
    def newly_crashed(self) -> bool:
        return bool(self.new and self.new.crashed and not (self.old and self.old.crashed))

    @property
    def verdict_worsened(self) -> bool:
        """NEW's verdict is worse than OLD's (e.g. certified -> partial)."""
        if self.old is None or self.new is None:
            return False
        return VERDICTS.index(self.new.verdict) > VERDICTS.index(self.old.verdict)

    @property
    def regression_count(self) -> int:
        """Regressed tests, removed tests and clauses, a new crash, a worse verdict, a lost line."""
        count = (
            len(self.regressions)
            + len(self.removed_tests)
            + len(self.removed_clauses)
            + self.newly_crashed
            + self.line_missing
        )
        return count or int(self.verdict_worsened)  # a worse verdict nothing else explains

    @property
    def regressed(self) -> bool:
        return self.regression_count > 0

    @property
    def unchanged(self) -> bool:
        lists = (
            self.regressions,
            self.flaky,
            self.fixes,
            self.new_tests,
            self.removed_tests,
            self.changed,
            self.new_clauses,
            self.removed_clauses,
            self.metadata,
        )
        return not any(lists) and not self.regressed and self.old is not None


@dataclass
class ResultSetDiff:
    """Every product line's diff, in a stable order."""

    products: list[ProductDiff]
    #: metadata changes every compared line shares (e.g. the profile), said once, not per line
    shared_metadata: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def like_with_like_note(self) -> str:
        """Why a profile change matters, and how to compare like with like; "" when none."""
        for what, old, new in self.shared_metadata:
            if what == "profile":
                return (
                    f"OLD ran with profile {old}, NEW with {new}: outcomes are compared as they "
                    f"are, but examples differ; rerun NEW with --profile {old} (and OLD's seed) "
                    "to compare like with like"
                )
        return ""

    @property
    def regressed(self) -> bool:
        return any(product.regressed for product in self.products)

    @property
    def regression_count(self) -> int:
        return sum(p.regression_count for p in self.products)


def _clauses(run: RunResult) -> set[str]:
    return {clause for test in run.tests for clause in test.clauses}


def _metadata(old: RunResult, new: RunResult) -> list[tuple[str, str, str]]:
    pairs = [
        ("suite version", old.suite_version, new.suite_version),
        ("spec hash", old.spec_hash[:12], new.spec_hash[:12]),
        (
            "implementation",
            old.implementation.get("module", ""),
            new.implementation.get("module", ""),
        ),
        (
            "implementation version",
            old.implementation.get("version", ""),
            new.implementation.get("version", ""),
        ),
        ("adapter", old.implementation.get("adapter", ""), new.implementation.get("adapter", "")),
        ("profile", old.profile, new.profile),
        ("level", old.level, new.level),
        ("verdict", old.verdict, new.verdict),
        ("crashed", old.crashed or "no", new.crashed or "no"),
    ]
    return [(what, a, b) for what, a, b in pairs if a != b]


def _yes_no(flag: bool) -> str:
    return "yes" if flag else "no"


def compare_runs(product_id: str, old: RunResult | None, new: RunResult | None) -> ProductDiff:
    """The changes on one product line, without reruns."""
    diff = ProductDiff(product_id, old, new)
    if old is None or new is None:
        return diff
    old_tests = {test.id: test for test in old.tests}
    new_tests = {test.id: test for test in new.tests}
    for test_id, test in new_tests.items():
        before = old_tests.get(test_id)
        clauses = tuple(test.failing_clauses or test.clauses)
        change = Change(test_id, before.outcome if before else None, test.outcome, clauses)
        if before is None:
            diff.new_tests.append(change)
        elif before.outcome == test.outcome:
            continue
        elif before.outcome in _GOOD and test.outcome in APPLICABLE_FAILURES:
            diff.regressions.append(change)
        elif before.outcome in APPLICABLE_FAILURES and test.outcome == "pass":
            diff.fixes.append(change)
        else:
            diff.changed.append(change)
    for test_id, test in old_tests.items():
        if test_id not in new_tests:
            diff.removed_tests.append(Change(test_id, test.outcome, None, tuple(test.clauses)))
    diff.new_clauses = sorted(_clauses(new) - _clauses(old))
    diff.removed_clauses = sorted(_clauses(old) - _clauses(new))
    diff.metadata = _metadata(old, new)
    return diff


def _adapter_arg(value: str | None) -> str | None:
    return None if value in (None, "", "default") else value


def confirm_regressions(
    diff: ProductDiff,
    rerun: RerunFn | None,
    times: int,
    *,
    impl: str | None = None,
    adapter: str | None = None,
) -> ProductDiff:
    """Rerun each regression ``times`` times with NEW's seed, and ``times`` times with fresh
    seeds; move those whose same-seed reruns disagree with NEW to ``flaky``.

    ``impl`` and ``adapter`` default to what NEW recorded. Without a rerun
    function, or when rerunning fails, the regressions stand and a note says why.
    """
    if not diff.regressions or times <= 0 or diff.new is None:
        return diff
    if rerun is None:
        diff.notes.append("regressions were not rerun: no rerun function is available")
        return diff
    target = impl or diff.new.implementation.get("module", "")
    chosen_adapter = adapter if adapter is not None else diff.new.implementation.get("adapter")
    ids = [change.test_id for change in diff.regressions]
    other_seeds = fresh_seeds(diff.new.seed, times)
    seen: dict[str, list[str]] = {test_id: [] for test_id in ids}
    for seed in [diff.new.seed] * times + other_seeds:
        try:
            outcomes = rerun(
                target,
                diff.product_id,
                list(ids),
                adapter=_adapter_arg(chosen_adapter),
                profile=diff.new.profile,
                seed=seed,
                level=diff.new.level,
            )
        except Exception as exc:  # a broken target must not hide the regressions it caused
            diff.notes.append(f"rerun failed ({type(exc).__name__}: {exc}); regressions stand")
            break
        for test_id in ids:
            seen[test_id].append(outcomes.get(test_id, "missing"))
    confirmed, flaky = [], []
    for change in diff.regressions:
        observed = seen[change.test_id]
        same, fresh = tuple(observed[:times]), tuple(observed[times:])
        settled = replace(
            change, reruns=same, fresh_reruns=fresh, fresh_seeds=tuple(other_seeds[: len(fresh)])
        )
        if any(outcome in _GOOD for outcome in same):
            flaky.append(settled)
        else:
            confirmed.append(settled)
    diff.regressions = confirmed
    diff.flaky = flaky
    return diff


def fresh_seeds(seed: int, count: int) -> list[int]:
    """Seeds other than ``seed``, derived from it so that a diff can be repeated."""
    draw = random.Random(seed)
    seeds: list[int] = []
    while len(seeds) < count:
        candidate = draw.randrange(1, 2**31)
        if candidate != seed and candidate not in seeds:
            seeds.append(candidate)
    return seeds


def diff_result_sets(
    old: Mapping[str, RunResult],
    new: Mapping[str, RunResult],
    *,
    rerun: RerunFn | None = None,
    times: int = 2,
    impl: str | None = None,
    adapter: str | None = None,
    products: Sequence[str] | None = None,
) -> ResultSetDiff:
    """Diff every product line in either set (or only ``products``), confirming regressions."""
    wanted = list(products) if products is not None else sorted(old.keys() | new.keys())
    diffs = [
        confirm_regressions(
            compare_runs(pid, old.get(pid), new.get(pid)), rerun, times, impl=impl, adapter=adapter
        )
        for pid in wanted
    ]
    return ResultSetDiff(diffs, _hoist_shared_metadata(diffs))


def _hoist_shared_metadata(diffs: list[ProductDiff]) -> list[tuple[str, str, str]]:
    """Remove from every line the metadata changes all compared lines share; return them."""
    compared = [d for d in diffs if d.old is not None and d.new is not None]
    if len(compared) < 2:
        return []
    shared = [entry for entry in compared[0].metadata if all(entry in d.metadata for d in compared)]
    for diff in compared:
        diff.metadata = [entry for entry in diff.metadata if entry not in shared]
    return shared

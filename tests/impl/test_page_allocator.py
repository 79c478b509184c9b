"""The page allocator refuses, at release time and on every path, a release that is not exactly
one live run, changing nothing; allocation stays all-or-nothing (issue 13, item 6)."""

from __future__ import annotations

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from llm_datadist_ref import _core

QUICK_MAX = 64  # runs up to this many pages go to the quick lists


def state(allocator: _core.PageAllocator) -> tuple[int, int, int]:
    return allocator.free_pages, allocator.live_runs, allocator.free_run_count


@pytest.mark.parametrize("count", [1, QUICK_MAX, QUICK_MAX + 1, 200])
def test_a_double_release_is_refused_at_once(count: int) -> None:
    allocator = _core.PageAllocator(1024)
    first = allocator.allocate(count)
    keep = allocator.allocate(1)  # so the run does not coalesce away
    assert first is not None
    assert keep is not None
    allocator.release(first, count)
    before = state(allocator)
    with pytest.raises(ValueError, match="not a live allocation"):
        allocator.release(first, count)
    assert state(allocator) == before, "a refused release changed the allocator"
    # and the run is handed out once, not twice
    runs = [allocator.allocate(count) for _ in range(1024 // count)]
    handed = [run for run in runs if run is not None]
    assert len(handed) == len(set(handed)), f"a run was handed out twice: {sorted(handed)}"


@pytest.mark.parametrize(
    ("first", "count"), [(0, 1), (3, 2), (8, 4), (100, 0), (1024, 1), (2**32 - 1, 1)]
)
def test_a_release_that_is_not_a_live_run_is_refused(first: int, count: int) -> None:
    allocator = _core.PageAllocator(1024)
    assert allocator.allocate(8) == 0  # live: [0, 8)
    before = state(allocator)
    if (first, count) == (0, 1):
        count = 4  # a part of the live run
    with pytest.raises(ValueError, match="not a live allocation"):
        allocator.release(first, count)
    assert state(allocator) == before


class AllocatorMachine(RuleBasedStateMachine):
    """Random allocations and releases (some of them wrong) against a model of the live runs."""

    CAPACITY = 256

    def __init__(self) -> None:
        super().__init__()
        self.allocator = _core.PageAllocator(self.CAPACITY)
        self.live: dict[int, int] = {}
        self.released: list[tuple[int, int]] = []

    @rule(count=st.integers(1, 80))
    def allocate(self, count: int) -> None:
        first = self.allocator.allocate(count)
        if first is None:
            widest = self.widest_gap()
            assert widest < count, f"allocate({count}) refused with a free gap of {widest} pages"
            return
        pages = set(range(first, first + count))
        for other, other_count in self.live.items():
            assert not pages & set(range(other, other + other_count)), (
                f"allocate({count}) returned [{first}, +{count}), overlapping live [{other}, +{other_count}]"
            )
        self.live[first] = count

    def widest_gap(self) -> int:
        widest, at = 0, 0
        for first in sorted(self.live):
            widest, at = max(widest, first - at), first + self.live[first]
        return max(widest, self.CAPACITY - at)

    @precondition(lambda self: self.live)
    @rule(data=st.data())
    def release(self, data: st.DataObject) -> None:
        first = data.draw(st.sampled_from(sorted(self.live)), label="run to release")
        count = self.live.pop(first)
        self.allocator.release(first, count)
        self.released.append((first, count))

    @precondition(lambda self: self.released)
    @rule(data=st.data())
    def release_again(self, data: st.DataObject) -> None:
        first, count = data.draw(st.sampled_from(self.released), label="stale run")
        if self.live.get(first) == count:
            return  # handed out again since: a legitimate release
        with pytest.raises(ValueError, match="not a live allocation"):
            self.allocator.release(first, count)

    @invariant()
    def pages_add_up(self) -> None:
        used = sum(self.live.values())
        assert self.allocator.free_pages == self.CAPACITY - used
        assert self.allocator.live_runs == len(self.live)


TestAllocatorMachine = AllocatorMachine.TestCase

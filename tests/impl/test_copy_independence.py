"""copy_blocks runs its copies on several workers only when they are independent. The core decides
that in time proportional to the pairs (one mark per block when the pairs name a good share of the
cache, sorted lists otherwise); both ways must agree with the definition."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from llm_datadist_ref import _core


def independent(info: dict[int, list[int]]) -> bool:
    """No block written twice, none both written and read (a copy onto itself counts for nothing)."""
    pairs = [(src, dst) for src, dsts in info.items() for dst in dsts if src != dst]
    read = {src for src, _ in pairs}
    written = [dst for _, dst in pairs]
    return len(set(written)) == len(written) and not read.intersection(written)


@given(
    blocks=st.integers(1, 4096).flatmap(
        lambda n: st.tuples(
            st.just(n),
            st.dictionaries(
                st.integers(0, n - 1), st.lists(st.integers(0, n - 1), max_size=3), max_size=12
            ),
        )
    )
)
def test_independence_matches_its_definition(blocks: tuple[int, dict[int, list[int]]]) -> None:
    num_blocks, info = blocks
    expected = independent(info)
    observed = _core.copy_blocks_independent(info, num_blocks)
    assert observed == expected, (
        f"copy_blocks_independent({info}, num_blocks={num_blocks}): expected {expected}, "
        f"observed {observed}"
    )


def test_a_chain_in_a_large_cache_is_dependent() -> None:
    """Few pairs in many blocks (the sorted-list path): each copy reads the previous one's result."""
    chain = {1000 + i: [1001 + i] for i in range(200)}
    assert not _core.copy_blocks_independent(chain, 131072)
    assert _core.copy_blocks_independent({i: [100000 + i] for i in range(200)}, 131072)
    assert not _core.copy_blocks_independent({1: [5], 2: [5]}, 131072)

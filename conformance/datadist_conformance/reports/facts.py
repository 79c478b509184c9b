"""Facts about a run that every report states, worded once so the reports agree."""

from __future__ import annotations

import re
from datetime import datetime

from ..results import RunResult
from ..verdicts import CERTIFIED, NO_EVIDENCE, PARTIAL

__all__ = [
    "certification_line",
    "implementation_label",
    "plural",
    "printable",
    "product_label",
    "short_hash",
    "verdict_css",
    "verdict_mark",
    "wall_seconds",
]


#: Control characters (other than tab, LF, CR) and the two non-characters XML 1.0 forbids.
_UNPRINTABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")


def printable(text: str) -> str:
    """``text`` with control characters written as ``\\xNN``: ANSI colour codes or NULs in a
    target's messages must not break XML or repaint the reader's terminal."""
    return _UNPRINTABLE.sub(lambda match: f"\\x{ord(match.group()):02x}", text)


def wall_seconds(run: RunResult) -> float:
    """Seconds from start to finish; the sum of test durations when the times are missing."""
    try:
        started = datetime.fromisoformat(run.started.replace("Z", "+00:00"))
        finished = datetime.fromisoformat(run.finished.replace("Z", "+00:00"))
    except ValueError:
        return sum(test.duration for test in run.tests)
    return max(0.0, (finished - started).total_seconds())


def implementation_label(run: RunResult) -> str:
    """``name version (module)``, e.g. ``llm_datadist_ref 0.1.0 (llm_datadist_ref)``."""
    impl = run.implementation
    name = impl.get("name") or impl.get("module", "?")
    version = f" {impl['version']}" if impl.get("version") else ""
    module = impl.get("module", "")
    where = f" ({module})" if module and module != name else ""
    return f"{name}{version}{where}"


def product_label(run: RunResult) -> str:
    """The product line's documented name and id."""
    product = run.product
    return f"{product.get('name') or product['id']} ({product['id']})"


def plural(count: int, noun: str) -> str:
    """``1 failing test``, ``2 failing tests``."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def short_hash(digest: str) -> str:
    return digest[:12]


#: Per verdict: the CSS class of its badge and the mark before it.
_BADGES = {CERTIFIED: ("yes", "✓"), PARTIAL: ("partial", "◐"), NO_EVIDENCE: ("partial", "∅")}


def verdict_css(run: RunResult) -> str:
    """``yes``, ``partial`` or ``no``: the badge class of the run's verdict."""
    return _BADGES.get(run.verdict, ("no", "✗"))[0]


def verdict_mark(run: RunResult) -> str:
    return _BADGES.get(run.verdict, ("no", "✗"))[1]


def certification_line(run: RunResult) -> str:
    """``CERTIFIED``, ``CERTIFIED WITH N UNTESTABLE CLAUSES (PARTIAL)``, ``NO EVIDENCE: ...``
    or ``NOT CERTIFIED: <why>``."""
    if run.verdict == CERTIFIED:
        return "CERTIFIED"
    if run.verdict == PARTIAL:
        return f"CERTIFIED WITH {plural(len(run.unchecked_clauses), 'UNTESTABLE CLAUSE')} (PARTIAL)"
    if run.verdict == NO_EVIDENCE:
        return f"NO EVIDENCE: no test passed ({plural(len(run.tests), 'test')} ran)"
    counts = run.counts
    reasons = []
    if counts["fail"]:
        reasons.append(plural(counts["fail"], "failing test"))
    if counts["error"]:
        reasons.append(plural(counts["error"], "erroring test"))
    if run.crashed:
        reasons.append(f"the run crashed ({run.crashed})")
    return "NOT CERTIFIED: " + ", ".join(reasons)

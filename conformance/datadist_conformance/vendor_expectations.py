"""Expectations files bundled with the suite, generated from the spec's ``vendor_observed`` notes.

``cann-as-shipped`` lists the clauses that CANN's shipped ``llm_datadist`` package is predicted
to fail (notes with ``predicted: fail``), each with the vendor behaviour and where it was read.
Every entry comes from reading the vendor's open-source code, not from a run on hardware: a
certification on an NPU machine confirms or refutes each one (an entry whose test passes is
reported stale). ``datadist-conformance spec vendor-expectations --write`` regenerates the file;
a project test checks that it is current.
"""

from __future__ import annotations

import json
import os
from importlib import resources
from pathlib import Path

from .speclib import Spec

__all__ = ["BUNDLED", "bundled_dir", "bundled_path", "render_vendor_expectations"]

#: Bundled expectations files by name.
BUNDLED = ("cann-as-shipped",)

_HEADER = """\
# Known failures of CANN's llm_datadist package as shipped (hicann/hixl), per clause.
# GENERATED from the spec's vendor_observed notes (predicted: fail) by
#   datadist-conformance spec vendor-expectations --write
# Do not edit by hand: edit the note in spec/api/ and regenerate (a test checks this file).
# Every entry is derived from reading the vendor's source code, NOT from a run on hardware.
# Use it with: datadist-conformance run --impl llm_datadist --expectations cann-as-shipped
"""


def render_vendor_expectations(spec: Spec) -> str:
    """The text of ``cann-as-shipped.yaml`` for ``spec``."""
    lines = [_HEADER.rstrip("\n"), "expectations:"]
    for clause in spec.clauses():
        note = clause.vendor_observed
        if note is None or note.predicted != "fail":
            continue
        reason = f"CANN as shipped (source reading, not a run on hardware): {note.behaviour}"
        lines += [
            f"  - clause: {clause.id}",
            f"    reason: {json.dumps(reason, ensure_ascii=False)}",
            f"    vendor_behaviour: {json.dumps(note.behaviour, ensure_ascii=False)}",
            f"    source: {json.dumps(note.source, ensure_ascii=False)}",
            "    evidence: source-reading",
        ]
    return "\n".join(lines) + "\n"


def bundled_dir() -> Path:
    """Where the bundled files are: the installed package data, else the checkout."""
    installed = Path(str(resources.files("datadist_conformance"))) / "bundled_expectations"
    if installed.is_dir():
        return installed
    return Path(__file__).resolve().parents[2] / "expectations"


def bundled_path(name: str) -> Path | None:
    """The bundled file called ``name`` (``cann-as-shipped``), or None when there is none."""
    if name not in BUNDLED or os.sep in name:
        return None
    return bundled_dir() / f"{name}.yaml"

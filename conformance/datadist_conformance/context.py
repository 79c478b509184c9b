"""What every test of one run shares: the target, the spec, the product line, the settings."""

from __future__ import annotations

import os
import site
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from . import __version__
from .speclib import Spec
from .target import Target
from .transcript import LiveFile, Transcript

__all__ = ["SuiteContext", "python_path"]


def python_path(modules: list[ModuleType]) -> str:
    """``PYTHONPATH=... `` naming where the target, its adapter and the suite were imported
    from, leaving out the site-packages directories every interpreter of the venv searches."""
    sites = {Path(p).resolve() for p in [*site.getsitepackages(), site.getusersitepackages()]}
    roots: list[str] = []
    for module in [*modules, sys.modules["datadist_conformance"]]:
        file = getattr(module, "__file__", None)
        if not file:
            continue
        root = Path(file).resolve().parent
        for _ in range(module.__name__.count(".") + (file.endswith("__init__.py"))):
            root = root.parent
        if root not in sites and str(root) not in roots:
            roots.append(str(root))
    return f"PYTHONPATH={os.pathsep.join(roots)} " if roots else ""


@dataclass(frozen=True)
class SuiteContext:
    target: Target
    spec: Spec
    product_id: str
    profile: str
    seed: int
    adapter_spec: str | None = None  #: as given on the command line, for replay snippets
    level: str = "document"  #: the certification level: which clauses this run checks
    peer_mode: str = "inprocess"  #: where a DECODER linked to a PROMPT lives (peer.mode)
    #: the running example's transcript, mirrored for the runner when the process dies in a call
    live: LiveFile | None = None

    def supported(self, api_id: str) -> bool:
        """Whether the API exists on this run's product line."""
        return bool(self.spec.api(api_id).products[self.product_id])

    def itemsize(self, dtype: str) -> int:
        for member in self.spec.api("DataType").members:
            if member.name == dtype and member.itemsize is not None:
                return member.itemsize
        raise KeyError(f"no itemsize for DataType.{dtype}")

    def new_transcript(self, test: str = "") -> Transcript:
        """A transcript whose header reproduces this run (and reruns ``test``, when named)."""
        rerun = (
            f"# rerun: datadist-conformance run --impl {self.target.name} --product {self.product_id} "
            f"--level {self.level} --profile {self.profile} --seed {self.seed}"
            + (f" --only '{test}'" if test else "")
            + (f" --adapter {self.adapter_spec}" if self.adapter_spec else "")
            + (" --peer process" if self.peer_mode == "process" else "")
            + "\n"
        )
        modules = [self.target.module, sys.modules[type(self.target.adapter).__module__]]
        header = (
            f"# Replay against {self.target.name} {self.target.version} as product line {self.product_id}\n"
            f"# (datadist-conformance {__version__}, profile {self.profile}, seed {self.seed})\n"
            f"# run it saved as replay.py: {python_path(modules)}python replay.py\n"
            + rerun
            + "from datadist_conformance import replay\n"
            + (
                f"m, adapter, peer = replay.peer_target({self.target.name!r}, adapter={self.adapter_spec!r})"
                "  # peer.*: in the helper process"
                if self.peer_mode == "process"
                else f"m, adapter = replay.target({self.target.name!r}, adapter={self.adapter_spec!r})"
            )
        )
        return Transcript(self.target.name, header, self.live)

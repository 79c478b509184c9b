"""The `datadist-conformance` command line: one sub-command group per module.

A sub-command's module (and what it imports: the spec loader, jsonschema, pytest, hypothesis,
the report writers) is imported only when that sub-command is named, so `--help` and a mistyped
command answer at once."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback
from collections.abc import Sequence

from ..verdicts import Exit

__all__ = ["build_parser", "main"]

#: Sub-command -> (its module in this package, its one-line help for the top-level listing).
COMMANDS = {
    "run": ("run_cmd", "certify an implementation on one or all product lines"),
    "spec": ("spec_cmd", "validate, print or trace the spec"),
    "report": ("report_cmd", "render, summarise and diff conformance results"),
}


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser for `argv`: the sub-command it names gets its full parser, the others a stub
    that only lists them. Without `argv`, every sub-command gets its full parser."""
    named = None if argv is None else next((a for a in argv if not a.startswith("-")), "")
    parser = argparse.ArgumentParser(
        prog="datadist-conformance",
        description="Conformance suite for the llm_datadist CacheManager API.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module, summary) in COMMANDS.items():
        if named is None or named == name:
            importlib.import_module(f".{module}", __name__).register(commands, summary)
        else:
            commands.add_parser(name, help=summary)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(argv).parse_args(argv)
    try:
        status: int = args.handler(args)
    except BrokenPipeError:  # e.g. `spec dump | head`: the reader left, nothing to report
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except Exception:  # a bug of the suite: never mistaken for a verdict on the target
        traceback.print_exc()
        print("error: the suite itself crashed (see the traceback above)", file=sys.stderr)
        return Exit.CRASH
    return status

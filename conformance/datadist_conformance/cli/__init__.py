"""The `datadist-conformance` command line: one sub-command group per module."""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Sequence

from ..verdicts import Exit
from . import report_cmd, run_cmd, spec_cmd

__all__ = ["main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="datadist-conformance",
        description="Conformance suite for the llm_datadist CacheManager API.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run_cmd.register(commands)
    spec_cmd.register(commands)
    report_cmd.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
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

"""The report docs, the tox environments and the example CI job say what the code does."""

from __future__ import annotations

import configparser
import re
import shlex
from pathlib import Path

import pytest
import yaml

from datadist_conformance.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "reports.md"
EXAMPLE = ROOT / "examples" / "ci" / "github-actions.yml"


def tox_env(name: str) -> configparser.SectionProxy:
    config = configparser.ConfigParser(interpolation=None)
    config.read(ROOT / "tox.ini", encoding="utf-8")
    return config[f"testenv:{name}"]


def parses(*argv: str) -> None:
    """Exits (SystemExit) if the command line does not parse."""
    build_parser().parse_args(list(argv))


def test_example_job_certifies_with_one_tox_command() -> None:
    steps = yaml.safe_load(EXAMPLE.read_text("utf-8"))["jobs"]["certify"]["steps"]
    commands = [step["run"] for step in steps if "tox run" in step.get("run", "")]
    assert len(commands) == 1
    words = shlex.split(re.sub(r"\$\{\{[^}]*\}\}", "/ws", commands[0]))
    assert words[:4] == ["tox", "run", "-e", "certify"]
    assert "commands" in tox_env("certify")
    parses("run", *words[words.index("--") + 1 :])


@pytest.mark.parametrize("env", ["conformance", "certify"])
def test_tox_envs_run_real_commands(env: str) -> None:
    for line in tox_env(env)["commands"].strip().splitlines():
        words = shlex.split(line.lstrip("- "))
        assert words[0] == "datadist-conformance"
        concrete = [w for w in words[1:] if w != "{posargs}"]
        concrete = [re.sub(r"\{[^}]*\}+", "x", w) for w in concrete]
        parses(*concrete, *(["--impl", "m"] if env == "certify" else []))


def test_documented_report_commands_exist() -> None:
    text = DOC.read_text("utf-8")
    actions = set(re.findall(r"datadist-conformance report (\w+)", text))
    assert actions == {"render", "summary", "diff", "baseline"}
    usage = re.search(r"report diff OLD NEW (.*?)\n```", text, re.DOTALL)
    assert usage is not None
    for flag in re.findall(r"--[a-z-]+", usage.group(1)):
        value = [] if flag == "--require-certified" else ["1"]
        parses("report", "diff", "a", "b", flag, *value)

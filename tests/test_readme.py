"""Every example in README.md runs (the first two commands, setup + tests, are CI itself)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_starts_with_setup_and_test_commands():
    cmds = [b.strip() for b in _blocks("bash")[:2]]
    assert "celldyn demo" in cmds[0] and "pip install" in cmds[0]
    assert "pytest" in cmds[1]
    ci = (Path(__file__).resolve().parents[1] / ".ci" / "run").read_text()
    assert cmds[1] in ci


def test_readme_python_examples_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for code in _blocks("python"):
        exec(compile(code, str(README), "exec"), {})


def _shell_commands() -> list[str]:
    """Every command line of the README's bash blocks after the first two (setup, tests)."""
    return [ln.strip() for b in _blocks("bash")[2:] for ln in b.splitlines()
            if ln.strip() and not ln.strip().startswith("#")]


def test_readme_commands_name_an_installed_program():
    """As written they work in a fresh clone without activating the venv."""
    for cmd in _shell_commands():
        assert cmd.startswith(".venv/bin/"), cmd


def test_readme_shell_examples_run(tmp_path):
    """The README's commands, in order, as a user runs them: bash in the clone's folder
    (here a folder whose .venv is this interpreter's environment), PATH without any venv,
    data from `celldyn example-data` (the package), not from the tests."""
    venv = Path(sys.prefix)
    if not (venv / "bin" / "celldyn").exists():
        pytest.skip("celldyn entry point not installed in this environment")
    (tmp_path / ".venv").symlink_to(venv, target_is_directory=True)
    path = os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep)
                           if "venv" not in p)
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    env["PATH"] = path
    commands = _shell_commands()
    assert any("example-data" in c for c in commands[:1]), "first example must make the data"
    for cmd in commands:
        proc = subprocess.run(["bash", "-c", cmd], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, f"{cmd}\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
        assert "Traceback" not in proc.stderr, cmd
    assert (tmp_path / "example-results" / "report.html").is_file()
    assert (tmp_path / "example-results" / "evaluation.json").is_file()
    assert list((tmp_path / "example-lineage").glob("*.png")) or \
        list(tmp_path.glob("example-lineage*.png"))

"""The tutorial in docs/ runs as written: its python blocks, in order, in one namespace."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

TUTORIAL = Path(__file__).resolve().parents[1] / "docs" / "tutorial.md"


@pytest.mark.slow
def test_tutorial_runs_in_order(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    blocks = re.findall(r"```python\n(.*?)```", TUTORIAL.read_text(), flags=re.S)
    assert len(blocks) >= 6
    namespace: dict = {}
    for code in blocks:
        exec(compile(code, str(TUTORIAL), "exec"), namespace)
    out = capsys.readouterr().out
    assert "Movie(TYX 40x320x320 uint8" in out
    assert namespace["a"].units["time"] == "min"
    own = namespace["scores"]  # the last scores: tracking the ground-truth labels
    assert own["SEG"] == pytest.approx(1.0) and own["DET"] > 0.99
    assert (namespace["out"] / "report.html").is_file()

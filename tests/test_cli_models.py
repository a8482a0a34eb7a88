"""``celldyn models``: every shipped model folder is listed with its card."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from click.testing import CliRunner

from celldyn.cli import main


def test_models_lists_every_shipped_card_and_prints_one():
    root = Path(str(resources.files("celldyn") / "models"))
    shipped = sorted(p.name for p in root.iterdir() if (p / "CARD.md").is_file())
    assert {"generalist2d", "nuclei2d", "tracker"} <= set(shipped)
    r = CliRunner().invoke(main, ["models"])
    assert r.exit_code == 0, r.output
    listed = [line.split()[0] for line in r.output.splitlines() if line and line[0] != " "]
    assert listed[:-1] == shipped               # last line: the hint
    card = CliRunner().invoke(main, ["models", "generalist2d"])
    assert card.exit_code == 0
    assert card.output.strip() == (root / "generalist2d" / "CARD.md").read_text().strip()


def test_models_unknown_name_is_one_line():
    r = CliRunner().invoke(main, ["models", "nope"])
    assert r.exit_code == 2 and "unknown model 'nope'" in r.output
    assert "Traceback" not in r.output

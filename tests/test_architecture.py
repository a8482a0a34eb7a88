"""The layering of ARCHITECTURE.md is enforced (issue 14, item 6): the import-linter
contracts in pyproject.toml hold, and the checker does fail on a broken contract."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _lint(config: Path) -> bool:
    from importlinter.application.use_cases import lint_imports
    from importlinter.configuration import configure

    configure()  # what the lint-imports command does first

    cwd = os.getcwd()
    os.chdir(config.parent)  # import-linter finds celldyn on sys.path (src first)
    try:
        return lint_imports(config_filename=str(config), cache_dir=None, no_logo=True)
    finally:
        os.chdir(cwd)


def test_import_contracts_are_kept():
    """Stages import neither io, pipeline, cli nor simulate; io imports no stage; the
    cli imports only downward; no import cycles (see pyproject.toml)."""
    assert _lint(ROOT / "pyproject.toml"), "an import contract is broken; run lint-imports"


def test_a_broken_contract_fails(tmp_path):
    """The checker is not blind: the pipeline does import tracking, so forbidding it
    must fail."""
    config = tmp_path / "broken.toml"
    config.write_text(
        '[tool.importlinter]\nroot_package = "celldyn"\n\n'
        '[[tool.importlinter.contracts]]\nname = "pipeline without track"\n'
        'type = "forbidden"\nsource_modules = ["celldyn.pipeline"]\n'
        'forbidden_modules = ["celldyn.track"]\n'
    )
    assert not _lint(config)


@pytest.mark.parametrize("module", ["celldyn.pipeline"])
def test_pipeline_is_short(module):
    """The pipeline only wires stages (issue 14: about 250 lines or fewer)."""
    import importlib

    path = Path(importlib.import_module(module).__file__)
    assert len(path.read_text().splitlines()) <= 250

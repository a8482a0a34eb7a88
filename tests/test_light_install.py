"""The core runs without PyTorch; deep features ask for the `deep` extra in one line."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

BLOCK_TORCH = textwrap.dedent("""
    import sys
    class _NoTorch:
        def find_spec(self, name, path=None, target=None):
            if name == "torch" or name.startswith("torch."):
                raise ImportError("No module named 'torch'")
    sys.meta_path.insert(0, _NoTorch())
""")


def _celldyn_without_torch(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    code = BLOCK_TORCH + textwrap.dedent(f"""
        sys.argv = ["celldyn", *{list(args)!r}]
        from celldyn.cli import main
        main()
    """)
    return subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                          text=True, timeout=600)


@pytest.mark.slow
def test_classical_path_without_torch_and_one_line_errors_for_deep(tmp_path):
    assert _celldyn_without_torch(tmp_path, "example-data", "ex").returncode == 0
    r = _celldyn_without_torch(tmp_path, "run", "ex/movie.tif", "--axes", "TYX",
                               "--dark-objects", "-o", "res", "--no-progress")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "res" / "report.html").is_file()
    for option in (["--segmenter", "deep"], ["--tracker", "learned"]):
        r = _celldyn_without_torch(tmp_path, "run", "ex/movie.tif", "--axes", "TYX",
                                   *option, "-o", "x", "--no-progress")
        errors = [ln for ln in r.stderr.splitlines() if ln.startswith("Error")]
        assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
        assert len(errors) == 1 and "pip install 'celldyn[deep]'" in errors[0]


def test_torch_is_a_range_in_the_extras():
    text = (Path(__file__).resolve().parents[1] / "pyproject.toml").read_text()
    deps = text.split("dependencies = [", 1)[1].split("]", 1)[0]
    assert "torch" not in deps
    assert "torch==" not in text.split("[project.optional-dependencies]", 1)[1]

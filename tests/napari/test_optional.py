"""napari is an optional extra (issue 20, item 5): the core imports and runs with
napari and every Qt binding unimportable, and nothing of them is loaded on the way."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

GUI = ("napari", "npe2", "qtpy", "PyQt5", "PyQt6", "PySide2", "PySide6", "vispy",
       "magicgui", "superqt")

BLOCK_GUI = textwrap.dedent(f"""
    import sys
    class _NoGui:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in {GUI!r}:
                raise ModuleNotFoundError(f"No module named {{name!r}}")
    sys.meta_path.insert(0, _NoGui())
""")


def test_core_runs_without_napari_or_qt():
    code = BLOCK_GUI + textwrap.dedent("""
        import celldyn, celldyn.napari, celldyn.cli.main, celldyn.outputs
        from celldyn.pipeline import run
        from celldyn.simulate import simulate_movie
        from celldyn.napari._reader import get_reader
        sim = simulate_movie(n_frames=3, n_objects=3, rng=0)
        result = run(sim.movie)
        assert result.labels.shape == sim.labels.shape and len(result.objects) > 0
        try:
            import celldyn.napari._widget
        except ImportError as err:
            print("widget:", err)
        loaded = sorted({m.split(".")[0] for m in sys.modules} & set(GUI))
        print("loaded:", loaded)
    """).replace("set(GUI)", repr(set(GUI)))
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=300, check=False)
    assert r.returncode == 0, r.stderr
    assert "widget: No module named 'napari" in r.stdout  # the blocker did work
    assert "loaded: []" in r.stdout


def test_napari_is_an_extra_only():
    text = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text()
    deps = text.split("dependencies = [", 1)[1].split("]", 1)[0]
    assert "napari" not in deps and "qt" not in deps.lower()
    extras = text.split("[project.optional-dependencies]", 1)[1].split("\n[", 1)[0]
    assert 'napari = ["napari[qt]' in extras and '"celldyn[napari]"' in extras

"""Viewer tests run headless: Qt's offscreen platform (set before any QApplication).

Without an X server (CI, this machine) Qt's offscreen platform has no OpenGL context,
so vispy cannot answer napari's two capability queries (GL extensions, largest
texture); then they answer what desktop GL has ("texture_float", 16384 / 2048 px). Layers, the
dock widget, the worker thread, readers and writers all run for real; only pixels are
not drawn (the screenshot script needs a display: docs/napari_screenshot.py).
"""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(scope="session")
def _gl_or_stub(qapp):
    from qtpy.QtGui import QOpenGLContext

    if QOpenGLContext().create():
        yield True
        return
    import importlib

    mp = pytest.MonkeyPatch()
    for name in ("utils.gl", "layers.image", "layers.base", "layers.labels", "canvas"):
        module = importlib.import_module(f"napari._vispy.{name}")
        if hasattr(module, "get_max_texture_sizes"):
            mp.setattr(module, "get_max_texture_sizes", lambda: (16384, 2048))
        if hasattr(module, "get_gl_extensions"):
            mp.setattr(module, "get_gl_extensions", lambda: "texture_float")
    yield False
    mp.undo()


@pytest.fixture
def viewer(make_napari_viewer, _gl_or_stub):
    """A napari viewer with celldyn's manifest registered (also when celldyn is an
    editable install whose entry points predate the plugin)."""
    from pathlib import Path

    from npe2 import PluginManager, PluginManifest

    import celldyn.napari

    pm = PluginManager.instance()
    if "celldyn" not in pm:
        pm.register(PluginManifest.from_file(
            Path(celldyn.napari.__file__).with_name("napari.yaml")))
    return make_napari_viewer()

"""Render docs/images/napari.png: the celldyn napari plugin on a real movie.

Opens Fluo-N2DL-HeLa-01 (Cell Tracking Challenge, ../shared/data; see its README) with
the plugin's reader, runs celldyn from the dock widget (default parameters, worker
thread) and saves a screenshot of the window: the movie, the tracked labels and the
tracks layer (tails of the last frames; divisions are the tracks graph).

Needs a display with OpenGL. On a headless Debian machine, Xvfb and the X libraries
that Qt's xcb platform needs (Qt's offscreen platform draws a black canvas)::

    apt-get install -y xvfb libxcb-icccm4 libxcb-keysyms1 libxcb-cursor0
    QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1600x1000x24" \
        .venv/bin/python docs/napari_screenshot.py

Takes under a minute on 2 cores (the pipeline on 36 frames of 700 x 1100 px).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "Fluo-N2DL-HeLa-01" / "01"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--movie", type=Path, default=DATA)
    parser.add_argument("--frame", type=int, default=30)
    parser.add_argument("-o", "--output", type=Path,
                        default=ROOT / "docs" / "images" / "napari.png")
    args = parser.parse_args()

    import napari
    from npe2 import PluginManager, PluginManifest
    from qtpy.QtWidgets import QApplication

    import celldyn.napari

    pm = PluginManager.instance()
    if "celldyn" not in pm:  # an editable install made before the plugin existed
        pm.register(PluginManifest.from_file(
            Path(celldyn.napari.__file__).with_name("napari.yaml")))

    viewer = napari.Viewer(show=True, title="celldyn")
    viewer.window.resize(1400, 760)
    viewer.open(args.movie, plugin="celldyn")
    _, widget = viewer.window.add_plugin_dock_widget("celldyn", "celldyn")
    worker = widget.run()
    done: list[bool] = []
    worker.finished.connect(lambda: done.append(True))
    started = time.perf_counter()
    while not done:
        QApplication.processEvents()
        time.sleep(0.05)
    while not any(ly.name.endswith(" tracks") for ly in viewer.layers):
        QApplication.processEvents()
    print(f"pipeline in the widget: {time.perf_counter() - started:.0f} s")

    import numpy as np

    for layer in viewer.layers:
        if layer.name == args.movie.name:  # the movie: contrast of the shown frame
            frame = np.asarray(layer.data[args.frame])
            layer.contrast_limits = tuple(np.percentile(frame, [1, 99.8]).tolist())
        if layer.name.endswith(" objects"):
            layer.visible = False
        if layer.name.endswith(" labels"):
            layer.opacity = 0.45
        if layer.name.endswith(" tracks"):
            layer.tail_length = 25
            layer.tail_width = 3
    viewer.dims.set_current_step(0, args.frame)
    labels = next(ly for ly in viewer.layers if ly.name.endswith(" labels"))
    viewer.layers.selection.active = labels
    widget.select(args.frame, int(labels.data[args.frame].max()))  # the info panel
    QApplication.processEvents()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    from PIL import Image

    shot = viewer.screenshot(canvas_only=False, flash=False)[..., :3]
    Image.fromarray(shot).quantize(256).save(args.output, optimize=True)  # < 500 KB
    print(f"wrote {args.output} ({args.output.stat().st_size // 1024} KB)")
    viewer.close()


if __name__ == "__main__":
    main()

"""The active-learning loop from the dock widget (issue 20): annotate next, correct a
crop's labels, retrain, rerun, on a tiny simulated movie with tiny settings."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tifffile

pytest.importorskip("napari", reason="the napari extra is not installed")
pytest.importorskip("pytestqt", reason="pytest-qt is not installed")
pytest.importorskip("torch")


def _idle(widget) -> bool:
    return widget.retrain_button.isEnabled() and widget.run_button.isEnabled()


def test_annotate_next_retrain_rerun(viewer, qtbot, tmp_path, monkeypatch):
    import celldyn.napari._widget as w
    from celldyn.segment.deep.registry import load_segmenter
    from celldyn.simulate import simulate_movie

    shown = []
    monkeypatch.setattr(w, "show_error", shown.append)
    sim = simulate_movie(ndim=2, n_frames=3, shape=(64, 64), n_objects=6, rng=2)
    viewer.add_image(sim.movie.data, name="sim")
    _, widget = viewer.window.add_plugin_dock_widget("celldyn", "celldyn")
    widget.al_n.setValue(2)
    widget.al_crop.setValue(32)
    widget.al_epochs.setValue(1)
    widget.al_iters.setValue(1)
    widget.al_folder.setText(str(tmp_path / "round01"))

    # annotate next: two crops, each an image layer + an editable labels layer
    assert widget.annotate_next() is not None
    assert not widget.retrain_button.isEnabled()
    qtbot.waitUntil(lambda: _idle(widget) and len(widget.crop_layers()) == 2,
                    timeout=60_000)
    assert not shown
    manifest = json.loads((tmp_path / "round01" / "manifest.json").read_text())
    names = [p["name"] for p in manifest["proposals"]]
    assert len(names) == 2 and all(n in viewer.layers for n in names)
    labels = viewer.layers[f"{names[0]} labels"]
    assert labels.data.shape == (32, 32) and labels.editable

    # the user corrects the first crop: the simulated truth
    rec = manifest["proposals"][0]
    y0, x0, y1, x1 = rec["box"]
    labels.data = sim.labels[rec["frame"], y0:y1, x0:x1].astype(np.int32)

    # retrain: labels saved into the round folder, a new model selected
    assert widget.retrain() is not None
    qtbot.waitUntil(lambda: _idle(widget) and widget.model.text().endswith("model"),
                    timeout=60_000)
    assert not shown, shown
    saved = tifffile.imread(tmp_path / "round01" / "labels" / f"{names[0]}.tif")
    np.testing.assert_array_equal(saved, sim.labels[rec["frame"], y0:y1, x0:x1])
    model = tmp_path / "round01" / "model"
    assert widget.model.text() == str(model) and widget.segmenter.currentText() == "deep"
    assert load_segmenter(model).net.base == load_segmenter("nuclei2d").net.base
    assert widget.status.text().startswith("new model")

    # rerun: the pipeline with the new model adds its result layers
    assert widget.rerun() is not None
    qtbot.waitUntil(lambda: shown or ("sim labels" in viewer.layers and _idle(widget)),
                    timeout=60_000)
    assert widget.config().model == str(model)
    assert viewer.layers["sim labels"].data.shape == sim.movie.data.shape
    assert not shown, shown


def test_retrain_before_annotating_is_one_line(viewer, monkeypatch):
    import celldyn.napari._widget as w

    shown = []
    monkeypatch.setattr(w, "show_error", shown.append)
    _, widget = viewer.window.add_plugin_dock_widget("celldyn", "celldyn")
    assert widget.retrain() is None and widget.annotate_next() is None
    assert shown == ["annotate next first: no proposed crops yet",
                     "open a movie first: there is no image layer"]
    assert widget.status.text() == shown[-1]

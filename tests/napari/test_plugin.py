"""The napari plugin (issue 20) in a real viewer, offscreen: the npe2 manifest, opening
a run folder, running the pipeline from the dock widget, clicking, correcting, saving."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

napari = pytest.importorskip("napari", reason="the napari extra is not installed")
pytest.importorskip("pytestqt", reason="pytest-qt is not installed")

import celldyn.napari
from celldyn.napari._reader import kind_of

MANIFEST = Path(celldyn.napari.__file__).with_name("napari.yaml")


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    """A classified run of a simulated movie with divisions (its movie on disk, so the
    explanations can read it)."""
    from celldyn.io import read_movie, write_tiff
    from celldyn.pipeline import run, write_run
    from celldyn.simulate import simulate_movie

    tmp = tmp_path_factory.mktemp("napari")
    sim = simulate_movie(ndim=2, n_frames=8, shape=(64, 64), n_objects=5,
                         division_rate=0.08, rng=3)
    write_tiff(tmp / "movie.ome.tif", sim.movie)
    movie = read_movie(tmp / "movie.ome.tif")
    result = run(movie, classifier="mitosis")
    write_run(result, tmp / "run", source=str(tmp / "movie.ome.tif"))
    return tmp / "run", result


def test_manifest_validates_and_a_broken_one_does_not(tmp_path):
    """`npe2 validate` accepts the manifest; its import check (`--imports`, run here
    in-process where the modules are loaded already) finds every command, and fails on
    a missing function."""
    from npe2 import PluginManifest

    npe2 = Path(sys.executable).with_name("npe2")
    ok = subprocess.run([str(npe2), "validate", str(MANIFEST)], capture_output=True,
                        text=True, timeout=120, check=False)
    assert ok.returncode == 0 and "valid" in ok.stdout, ok.stdout + ok.stderr
    PluginManifest.from_file(MANIFEST).validate_imports()
    broken = tmp_path / "napari.yaml"
    broken.write_text(MANIFEST.read_text().replace("_reader:get_reader", "_reader:nothing"))
    with pytest.raises(Exception, match="nothing"):
        PluginManifest.from_file(broken).validate_imports()


def test_manifest_contributions():
    from npe2 import PluginManifest

    m = PluginManifest.from_file(MANIFEST).contributions
    assert [r.command for r in m.readers] == ["celldyn.get_reader"]
    assert {w.layer_types[0] for w in m.writers} == {"labels", "points"}
    assert [s.key for s in m.sample_data] == ["ecoli_demo"]
    assert [w.command for w in m.widgets] == ["celldyn.widget"]


def test_reader_claims_only_our_paths(run_folder, tmp_path):
    folder, _ = run_folder
    assert kind_of(folder) == "run"
    assert kind_of(folder / "ctc") == "ctc_result"
    assert kind_of(folder.parent / "movie.ome.tif") == "movie"
    (tmp_path / "notes.txt").write_text("x")
    assert kind_of(tmp_path / "notes.txt") is None and kind_of(tmp_path) is None


def test_open_run_folder(viewer, run_folder):
    """Labels, tracks whose graph is the divisions, and classed objects."""
    folder, result = run_folder
    layers = viewer.open(folder, plugin="celldyn")
    kinds = {type(ly).__name__: ly for ly in layers}
    assert set(kinds) == {"Image", "Labels", "Tracks", "Points"}
    np.testing.assert_array_equal(kinds["Labels"].data, result.labels)
    np.testing.assert_array_equal(kinds["Image"].data, result.movie.data)
    parents = result.tracks[result.tracks["parent"] > 0]
    assert len(parents) >= 2  # the simulation divides
    expected = {int(r.label): [int(r.parent)] for r in parents.itertuples()}
    assert kinds["Tracks"].graph == expected
    ids = np.unique(kinds["Tracks"].data[:, 0]).astype(int)
    assert set(ids) == set(result.tracks["label"])
    points = kinds["Points"]
    assert len(points.data) == len(result.objects)
    assert list(points.features["class"]) == list(result.objects["class"])
    colours = {c: tuple(points.face_color[i]) for i, c in enumerate(points.features["class"])}
    assert len(set(colours.values())) == len(colours)  # one colour per class


def test_dock_widget_runs_the_pipeline_in_a_worker(viewer, qtbot, run_folder):
    """The widget (from the manifest) runs pipeline.run on the image layer in a thread
    and adds exactly what the library computes."""
    from celldyn.pipeline import run

    _, reference = run_folder
    viewer.add_image(reference.movie.data, name="sim")
    _, widget = viewer.window.add_plugin_dock_widget("celldyn", "celldyn")
    widget.tracker.setCurrentText("global")
    assert widget.run() is not None
    assert not widget.run_button.isEnabled()  # until the worker is done
    qtbot.waitUntil(lambda: "sim objects" in viewer.layers and widget.run_button.isEnabled(),
                    timeout=60_000)
    expected = run(reference.movie, tracker="global")
    labels = viewer.layers["sim labels"]
    np.testing.assert_array_equal(labels.data, expected.labels)
    tracks = viewer.layers["sim tracks"]
    assert len(tracks.data) == len(expected.objects)
    assert tracks.graph == {int(r.label): [int(r.parent)]
                            for r in expected.tracks.itertuples() if r.parent > 0}
    assert len(viewer.layers["sim objects"].data) == len(expected.objects)
    for t in (3, 0):  # the per-object table follows the frame slider
        viewer.dims.set_current_step(0, t)
        assert widget.table.rowCount() == int((expected.objects["t"] == t).sum())


def test_widget_error_is_one_line(viewer, monkeypatch):
    import celldyn.napari._widget as w

    shown = []
    monkeypatch.setattr(w, "show_error", shown.append)
    _, widget = viewer.window.add_plugin_dock_widget("celldyn", "celldyn")
    assert widget.run() is None  # no image layer
    assert shown == ["open a movie first: there is no image layer"]


def test_worker_error_is_one_line(viewer, qtbot, monkeypatch):
    """A user mistake raised in the worker thread (a single image, not a movie) is
    shown as one line."""
    import celldyn.napari._widget as w

    shown = []
    monkeypatch.setattr(w, "show_error", shown.append)
    viewer.add_image(np.zeros((32, 32)), name="one frame")
    _, widget = viewer.window.add_plugin_dock_widget("celldyn", "celldyn")
    assert widget.run() is not None
    qtbot.waitUntil(lambda: bool(shown) and widget.run_button.isEnabled(), timeout=30_000)
    assert len(shown) == 1 and shown[0].startswith("the image layer must be a movie")
    assert widget.run_button.isEnabled()


def test_click_shows_track_lineage_and_explanation(viewer, run_folder):
    folder, result = run_folder
    viewer.open(folder, plugin="celldyn")
    _, widget = viewer.window.add_plugin_dock_widget("celldyn", "celldyn")
    child = result.tracks[result.tracks["parent"] > 0].iloc[0]
    t = int(child.begin)
    text = widget.select(t, int(child.label))
    row = result.objects[(result.objects["t"] == t) & (result.objects["label"] == child.label)]
    assert f"track id {int(child.label)}" in text
    assert f"parent {int(child.parent)}" in text
    assert f"class {row['class'].iloc[0]}" in text
    assert "why " in text  # feature contributions of the mitosis classifier
    assert widget.info.text() == text


def test_edit_label_save_read_back(viewer, run_folder, tmp_path):
    """Erase one object and paint a new one; saving re-tracks into the run folder; the
    reader shows the corrected labels."""
    src, result = run_folder
    folder = tmp_path / "run"
    shutil.copytree(src, folder)
    viewer.open(folder, plugin="celldyn")
    _, widget = viewer.window.add_plugin_dock_widget("celldyn", "celldyn")
    labels = widget.labels_layer
    edited = np.array(labels.data)
    gone = int(edited[0][edited[0] > 0][0])
    edited[0][edited[0] == gone] = 0
    free = np.argwhere(edited[0, 2:-8, 2:-8] == 0)[0] + 2
    assert not result.labels[0][free[0]:free[0] + 6, free[1]:free[1] + 6].all()
    edited[0, free[0]:free[0] + 6, free[1]:free[1] + 6] = edited.max() + 1
    labels.data = edited
    widget.save_labels(folder)

    back = viewer.open(folder, plugin="celldyn")
    new = next(ly for ly in back if type(ly).__name__ == "Labels").data
    np.testing.assert_array_equal(new > 0, edited > 0)  # ids follow the new tracking
    n0 = len(np.unique(result.labels[0])) - 1
    assert len(np.unique(new[0])) - 1 == n0 - 1 + 1
    objects = pd.read_parquet(folder / "objects.parquet")
    assert int((objects["t"] == 0).sum()) == n0
    assert widget.view.folder == folder and widget.labels_layer.data is not labels.data


def test_class_annotations_and_ctc_writer(viewer, run_folder, tmp_path):
    from celldyn.io import read_csv, read_ctc_result

    folder, result = run_folder
    layers = viewer.open(folder, plugin="celldyn")
    _, widget = viewer.window.add_plugin_dock_widget("celldyn", "celldyn")
    widget.select(2, int(result.objects.loc[result.objects["t"] == 2, "label"].iloc[0]))
    widget.annotate("mitosis")
    path = widget.save_annotations(tmp_path / "classes.csv")
    table = read_csv(path)
    assert list(table.columns) == ["t", "label", "class"]
    assert table.values.tolist() == [[2, widget.selected[1], "mitosis"]]

    labels = next(ly for ly in layers if type(ly).__name__ == "Labels")
    labels.save(str(tmp_path / "ctc"), plugin="celldyn")
    masks, tracks = read_ctc_result(tmp_path / "ctc")
    np.testing.assert_array_equal(masks, result.labels)
    pd.testing.assert_frame_equal(tracks.reset_index(drop=True),
                                  result.tracks.reset_index(drop=True), check_dtype=False)


def test_sample_data_is_the_demo_with_its_truth():
    from celldyn.napari._sample import demo

    layers = demo()
    kinds = [kind for _, _, kind in layers]
    assert kinds == ["image", "labels", "tracks"]
    image, labels, _ = (d for d, _, _ in layers)
    assert image.shape == labels.shape and image.shape[0] == 40
    assert len(layers[2][1]["graph"]) > 0  # the colony divides

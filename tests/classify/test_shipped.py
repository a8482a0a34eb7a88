"""The shipped real-data models (phases, mitosis and their CNNs) load (sha256-checked),
carry their crop scale and smoothing, and reproduce a stored output."""

import json
from pathlib import Path

import numpy as np
import pytest

from celldyn.classify import (
    PHASES,
    classify_objects,
    load_classifier,
    model_features,
    predict_proba_objects,
)
from celldyn.errors import ModelError

REF = Path(__file__).with_name("mitosis_reference.json")
CLASSICAL = ("phases", "mitosis")
CNNS = ("phases-cnn", "mitosis-cnn")


def _inputs():
    from celldyn.simulate import simulate_movie

    return simulate_movie(n_frames=6, shape=(64, 64), n_objects=5, division_rate=0.2, rng=7)


def _proba(name, sim):
    model = load_classifier(name)
    f = model_features(model, sim.labels, sim.movie.data, sim.graph)
    return model, predict_proba_objects(model, sim.labels, sim.movie.data, sim.graph,
                                        features=f)[1]


def reference() -> dict:
    """Regenerate the stored output (run this module as a script after retraining)."""
    sim = _inputs()
    return {name: _proba(name, sim)[1].round(5).tolist() for name in CLASSICAL + CNNS}


@pytest.mark.parametrize("name", CLASSICAL)
def test_shipped_trees_reproduce_stored_output(name):
    stored = json.loads(REF.read_text())
    model, p = _proba(name, _inputs())
    want = sorted(PHASES) if name == "phases" else ["interphase", "mitosis"]
    assert model.classes == want
    assert np.allclose(p, stored[name], atol=1e-5)
    size = sum(f.stat().st_size for f in Path(model_dir(name)).iterdir())
    assert size < 20e6
    spec, smooth = model.meta["crops"], model.meta["smoothing"]
    assert spec["size"] == 48 and 20 < spec["reference_diameter"] < 64
    A = np.asarray(smooth["transition"])
    assert A.shape == (len(want),) * 2 and np.allclose(A.sum(axis=1), 1)
    assert smooth["strength"] >= 0


@pytest.mark.parametrize("name", CNNS)
def test_shipped_cnn_reproduces_stored_output(name):
    pytest.importorskip("torch")
    stored = json.loads(REF.read_text())
    _, p = _proba(name, _inputs())
    assert np.allclose(p, stored[name], atol=1e-4)


def test_classify_objects_adds_phase_columns():
    sim = _inputs()
    f = model_features(load_classifier("mitosis"), sim.labels, sim.movie.data, sim.graph)
    objects = f[["t", "label", "y", "x"]]
    out = classify_objects(objects, sim.labels, sim.movie, sim.graph, model="phases")
    assert {"class", "class_proba"} <= set(out.columns) and len(out) == len(objects)
    assert set(out["class"]) <= set(PHASES)
    assert {f"proba_{c}" for c in PHASES} <= set(out.columns)
    assert out["class_proba"].between(0, 1).all()


def test_hash_mismatch_is_model_error(tmp_path):
    import shutil

    shutil.copytree(model_dir("mitosis"), tmp_path / "m")
    with open(tmp_path / "m" / "trees.npz", "ab") as fh:
        fh.write(b"x")
    with pytest.raises(ModelError, match="sha256"):
        load_classifier(tmp_path / "m")
    with pytest.raises(ModelError, match="unknown classifier"):
        load_classifier("no-such-model")


def model_dir(name="mitosis"):
    from celldyn.classify.registry import model_folder

    return model_folder(name)


if __name__ == "__main__":
    REF.write_text(json.dumps(reference(), indent=1))

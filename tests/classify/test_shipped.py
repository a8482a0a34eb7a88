"""The shipped mitosis models load (sha256-checked) and reproduce a stored output."""

import json
from pathlib import Path

import numpy as np
import pytest

from celldyn.classify import classify_objects, load_classifier, object_features
from celldyn.errors import ModelError

REF = Path(__file__).with_name("mitosis_reference.json")


def _inputs():
    from celldyn.simulate import simulate_movie

    sim = simulate_movie(n_frames=6, shape=(64, 64), n_objects=5, division_rate=0.2, rng=7)
    return sim, object_features(sim.labels, sim.movie.data, graph=sim.graph)


def reference() -> dict:
    """Regenerate the stored output (run this module as a script after retraining)."""
    sim, f = _inputs()
    out = {"mitosis": load_classifier("mitosis").predict_proba(f)[:, 1].round(6).tolist()}
    try:
        cnn = load_classifier("mitosis-cnn")
        p = cnn.predict_proba_crops(cnn.crops(sim.labels, sim.movie.data, f))
        out["mitosis-cnn"] = p[:, 1].round(5).tolist()
    except ImportError:  # pragma: no cover
        pass
    return out


def test_shipped_trees_reproduce_stored_output():
    stored = json.loads(REF.read_text())
    model = load_classifier("mitosis")
    assert model.classes == ["interphase", "mitosis"]
    _, f = _inputs()
    assert np.allclose(model.predict_proba(f)[:, 1], stored["mitosis"], atol=1e-6)
    size = sum(p.stat().st_size for p in Path(model_dir()).iterdir())
    assert size < 20e6


def test_shipped_cnn_reproduces_stored_output():
    pytest.importorskip("torch")
    stored = json.loads(REF.read_text())
    sim, f = _inputs()
    cnn = load_classifier("mitosis-cnn")
    p = cnn.predict_proba_crops(cnn.crops(sim.labels, sim.movie.data, f))
    assert np.allclose(p[:, 1], stored["mitosis-cnn"], atol=1e-4)


def test_classify_objects_adds_columns():
    sim, f = _inputs()
    objects = f[["t", "label", "y", "x"]]
    out = classify_objects(objects, sim.labels, sim.movie, sim.graph, model="mitosis")
    assert {"class", "class_proba"} <= set(out.columns) and len(out) == len(objects)
    assert set(out["class"]) <= {"interphase", "mitosis"}
    assert ((out["class_proba"] >= 0.5 - 1e-9) & (out["class_proba"] <= 1)).all()


def test_hash_mismatch_is_model_error(tmp_path):
    import shutil

    from celldyn.classify.registry import model_folder

    shutil.copytree(model_folder("mitosis"), tmp_path / "m")
    with open(tmp_path / "m" / "trees.npz", "ab") as fh:
        fh.write(b"x")
    with pytest.raises(ModelError, match="sha256"):
        load_classifier(tmp_path / "m")
    with pytest.raises(ModelError, match="unknown classifier"):
        load_classifier("no-such-model")


def model_dir():
    from celldyn.classify.registry import model_folder

    return model_folder("mitosis")


if __name__ == "__main__":
    REF.write_text(json.dumps(reference(), indent=1))

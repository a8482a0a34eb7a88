import numpy as np
import pytest

torch = pytest.importorskip("torch")

from celldyn.classify.cnn import CNNClassifier, object_crops, saliency, train_cnn  # noqa: E402


def test_crops_2d_3d(sim3d, divsim, divfeats):
    from celldyn.classify import object_features

    c = object_crops(divsim.labels, divsim.movie.data, divfeats.iloc[:5], size=16)
    assert c.shape == (5, 2, 16, 16) and c[:, 1].sum() > 0
    f3 = object_features(sim3d.labels, sim3d.movie.data)
    c3 = object_crops(sim3d.labels, sim3d.movie.data, f3.iloc[:3], size=16)
    assert c3.shape == (3, 2, 16, 16) and (c3[:, 1].reshape(3, -1).sum(1) > 0).all()


def test_one_epoch_deterministic(tmp_path, divsim, divfeats):
    crops = object_crops(divsim.labels, divsim.movie.data, divfeats, size=16)
    y = divfeats["class"]
    a = train_cnn(crops, y, epochs=1, seed=0, min_steps=0)
    b = train_cnn(crops, y, epochs=1, seed=0, min_steps=0)
    pa, pb = a.predict_proba_crops(crops[:6]), b.predict_proba_crops(crops[:6])
    assert np.array_equal(pa, pb) and np.allclose(pa.sum(1), 1)
    maps, pred = saliency(a, crops[:2])
    assert maps.shape == (2, 16, 16) and np.isfinite(maps).all()
    a.save(tmp_path / "cnn")
    from celldyn.classify import load_classifier

    back = load_classifier(tmp_path / "cnn")
    assert isinstance(back, CNNClassifier)
    assert np.allclose(back.predict_proba_crops(crops[:6]), pa)

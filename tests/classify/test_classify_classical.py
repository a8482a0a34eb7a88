import numpy as np
import pytest

from celldyn.classify import (
    ClassicalClassifier,
    TreeEnsemble,
    explain_object,
    feature_columns,
    shapley_sampling,
    train_classical,
)


@pytest.fixture(scope="module")
def data(divfeats):
    return divfeats, feature_columns(2)


@pytest.mark.parametrize("model", ["rf", "gb"])
def test_tree_contributions_sum_to_prediction(data, model):
    f, cols = data
    clf = train_classical(f, f["class"], model=model, feature_names=cols, seed=0)
    X = f[cols].to_numpy()
    bias, contrib = clf.ensemble.contributions(X)
    assert np.allclose(bias + contrib.sum(axis=1), clf.ensemble.raw(X), atol=1e-9)
    table, info = clf.explain(f.iloc[:7])
    assert np.allclose(info["bias"] + table.sum(axis=1), info["output"])
    p = clf.predict_proba(f.iloc[:7]).max(axis=1)
    if model == "rf":  # probability space: bias + contributions = predicted proba
        assert np.allclose(info["output"], p, atol=1e-9)
    else:  # log-odds of the predicted class
        assert np.allclose(1 / (1 + np.exp(-info["output"])), p, atol=1e-9)


@pytest.mark.parametrize("model", ["rf", "gb"])
def test_tree_ensemble_matches_sklearn(data, model):
    from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier

    f, cols = data
    X, y = f[cols].to_numpy(), (f["class"] == "mitosis").to_numpy().astype(int)
    est = (RandomForestClassifier(n_estimators=10, random_state=0) if model == "rf"
           else GradientBoostingClassifier(n_estimators=10, random_state=0)).fit(X, y)
    ens = TreeEnsemble.from_sklearn(est, X.shape[1])
    assert np.allclose(ens.predict_proba(X), est.predict_proba(X), atol=1e-9)


def test_save_load_roundtrip(tmp_path, data):
    f, cols = data
    clf = train_classical(f, f["class"], model="gb", feature_names=cols, seed=0)
    clf.save(tmp_path / "m")
    from celldyn.classify import load_classifier

    back = load_classifier(tmp_path / "m")
    assert isinstance(back, ClassicalClassifier)
    assert np.array_equal(back.predict_proba(f), clf.predict_proba(f))
    table, info = explain_object(back, f, int(f.t[3]), int(f.label[3]))
    assert list(table.columns) == ["feature", "value", "contribution"]
    assert info["predicted"] in clf.classes
    assert back.global_importance().index[0] in cols


def test_svm_shapley_efficiency(data):
    f, cols = data
    clf = train_classical(f, f["class"], model="svm", feature_names=cols, seed=0)
    table, info = clf.explain(f.iloc[:2], n_permutations=8)
    assert info["space"] == "svm-decision"
    assert np.allclose(info["bias"] + table.sum(axis=1), info["output"])


def test_shapley_exact_on_additive_model():
    w = np.array([1.0, -2.0, 0.5])
    base, v = shapley_sampling(lambda X: X @ w, np.ones(3), np.zeros((4, 3)), n_permutations=5)
    assert base == 0 and np.allclose(v, w)

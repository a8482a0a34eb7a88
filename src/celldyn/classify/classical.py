"""Classical classifiers on object features: random forest, gradient boosting, SVM.

scikit-learn fits the models. Ours: the wrapper that keeps feature names and classes
with the model, per-object explanations (tree path contributions, see
:mod:`celldyn.classify.trees`; Monte-Carlo Shapley values for the SVM, see
:func:`shapley_sampling`), global importances, and safe storage (trees as ``.npz``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from ..errors import ModelError
from .trees import TreeEnsemble

__all__ = ["CLASSICAL_MODELS", "ClassicalClassifier", "train_classical", "shapley_sampling"]

CLASSICAL_MODELS = ("rf", "gb", "svm")


def shapley_sampling(
    predict: Callable[[np.ndarray], np.ndarray],
    x: np.ndarray,
    background: np.ndarray,
    *,
    n_permutations: int = 64,
    rng: int | np.random.Generator | None = 0,
) -> tuple[float, np.ndarray]:
    """Shapley values of one sample by permutation sampling (interventional).

    For each random feature order and background row, features are switched from the
    background value to the sample's value one at a time and the change of
    ``predict`` is credited to the switched feature. Each permutation telescopes, so
    ``base + values.sum() == predict(x)`` exactly, whatever the number of samples.

    Parameters
    ----------
    predict : callable
        (n, n_features) -> (n,) scores.
    x : (n_features,) array
    background : (m, n_features) array
        Reference rows (e.g. a sample of the training set).

    Returns
    -------
    base : float
        Mean prediction over the background rows used.
    values : (n_features,) array

    Examples
    --------
    >>> f = lambda X: 2 * X[:, 0] + X[:, 1] * X[:, 2]
    >>> base, v = shapley_sampling(f, np.array([1., 1., 1.]), np.zeros((1, 3)))
    >>> float(round(base + v.sum(), 6)), float(round(v[0], 6))
    (3.0, 2.0)
    """
    rng = np.random.default_rng(rng)
    x = np.asarray(x, dtype=np.float64)
    background = np.atleast_2d(np.asarray(background, dtype=np.float64))
    d = x.size
    rows, owners = [], []
    bases = []
    for _ in range(n_permutations):
        order = rng.permutation(d)
        z = background[rng.integers(len(background))].copy()
        rows.append(z.copy())
        bases.append(len(rows) - 1)
        for j in order:
            z[j] = x[j]
            rows.append(z.copy())
            owners.append((len(rows) - 1, j))
    pred = np.asarray(predict(np.asarray(rows)), dtype=np.float64)
    values = np.zeros(d)
    for i, j in owners:
        values[j] += pred[i] - pred[i - 1]
    values /= n_permutations
    base = float(pred[bases].mean())
    return base, values


class _PlattSVC:
    """SVC + a logistic map of its decision values to probabilities (Platt scaling,
    fitted on the training decisions: fine for ranking, optimistic in calibration)."""

    def __init__(self, svc: Any) -> None:
        self.svc = svc

    def fit(self, X: np.ndarray, y: np.ndarray) -> _PlattSVC:
        from sklearn.linear_model import LogisticRegression

        self.svc.fit(X, y)
        d = self.svc.decision_function(X)
        self.platt = LogisticRegression(class_weight="balanced").fit(d.reshape(len(X), -1), y)
        return self

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        return self.svc.decision_function(X)

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        d = self.svc.decision_function(X)
        return self.platt.predict_proba(d.reshape(len(X), -1))


@dataclass
class ClassicalClassifier:
    """A feature-based classifier with its feature names and classes.

    Attributes
    ----------
    model_type : ``"rf"``, ``"gb"`` or ``"svm"``
    feature_names : list of str
        Columns of the feature table, in the model's order.
    classes : list of str
    ensemble : TreeEnsemble or None
        For ``rf`` / ``gb``: the trees as arrays (prediction and explanations).
    estimator : sklearn estimator or None
        For ``svm`` (a StandardScaler + SVC pipeline); not saved.
    background : (m, n_features) array
        Training rows used as the reference of SVM explanations.
    meta : dict
        Training record (labels, seed, scores, transition matrix for smoothing).
    """

    model_type: str
    feature_names: list[str]
    classes: list[str]
    ensemble: TreeEnsemble | None = None
    estimator: Any = None
    background: np.ndarray | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    kind: str = "classical"

    def _matrix(self, features: pd.DataFrame) -> np.ndarray:
        missing = [c for c in self.feature_names if c not in features.columns]
        if missing:
            raise ModelError(
                f"the feature table lacks columns {missing} that the model was trained "
                "on; compute features with celldyn.classify.object_features"
            )
        return features[self.feature_names].to_numpy(dtype=np.float64)

    def predict_proba(self, features: pd.DataFrame) -> np.ndarray:
        """(n_objects, n_classes) probabilities, columns in `classes` order."""
        X = self._matrix(features)
        if self.ensemble is not None:
            return self.ensemble.predict_proba(X)
        return self.estimator.predict_proba(X)

    def explain(self, features: pd.DataFrame, *, n_permutations: int = 64
                ) -> tuple[pd.DataFrame, dict[str, Any]]:
        """Feature contributions to each object's predicted class.

        Returns
        -------
        contributions : DataFrame
            One row per object, one column per feature: how much each feature moved
            the prediction of the object's predicted class away from the bias.
        info : dict
            ``bias`` (per object), ``output`` (the per-object value that bias +
            contributions sum to), ``space`` (``probability`` for random forests,
            ``log-odds`` for gradient boosting and ``svm-decision`` for the SVM) and
            ``predicted`` class names.
        """
        X = self._matrix(features)
        proba = self.predict_proba(features)
        pred = proba.argmax(axis=1)
        n, d = X.shape
        contrib = np.zeros((n, d))
        bias = np.zeros(n)
        if self.ensemble is not None:
            b, c = self.ensemble.contributions(X)
            if self.ensemble.kind == "mean":
                contrib = c[np.arange(n), :, pred]
                bias = b[pred]
                space = "probability"
            elif self.ensemble.n_outputs == 1:  # binary boosting: log-odds of class 1
                sign = np.where(pred == 1, 1.0, -1.0)
                contrib = c[:, :, 0] * sign[:, None]
                bias = b[0] * sign
                space = "log-odds"
            else:
                contrib = c[np.arange(n), :, pred]
                bias = b[pred]
                space = "log-odds"
        else:
            space = "svm-decision"
            bg = self.background
            for i in range(n):
                k = int(pred[i])
                if len(self.classes) == 2:
                    sign = 1.0 if k == 1 else -1.0

                    def f(Z, s=sign):
                        return s * self.estimator.decision_function(Z)
                else:
                    def f(Z, k=k):
                        return self.estimator.decision_function(Z)[:, k]
                bias[i], contrib[i] = shapley_sampling(f, X[i], bg,
                                                       n_permutations=n_permutations, rng=i)
        table = pd.DataFrame(contrib, columns=self.feature_names, index=features.index)
        return table, {"bias": bias, "output": bias + contrib.sum(axis=1), "space": space,
                       "predicted": [self.classes[k] for k in pred]}

    def global_importance(self, features: pd.DataFrame | None = None) -> pd.Series:
        """Global importances: mean |contribution| over `features` when given, else
        the trees' impurity-based importances (training data)."""
        if features is not None:
            table, _ = self.explain(features)
            return table.abs().mean().sort_values(ascending=False)
        imp = self.meta.get("impurity_importance")
        if imp is None:
            raise ModelError("this model stores no importances; pass a feature table")
        return pd.Series(imp, index=self.feature_names).sort_values(ascending=False)

    # ------------------------------------------------------------- storage
    def save(self, folder: str | Path) -> dict[str, str]:
        """Write ``model.json`` + ``trees.npz``; returns {file: sha256}."""
        from .._weights import sha256_file

        if self.ensemble is None:
            raise ModelError(
                "svm models cannot be saved yet; train with --model rf or --model gb "
                "to get a model file"
            )
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.ensemble.save(folder / "trees.npz")
        meta = {"kind": "classical", "model_type": self.model_type,
                "feature_names": self.feature_names, "classes": self.classes,
                "weights": "trees.npz", "sha256": sha256_file(folder / "trees.npz"),
                **{k: v for k, v in self.meta.items()}}
        (folder / "model.json").write_text(json.dumps(meta, indent=2, default=float))
        return {"trees.npz": meta["sha256"]}

    @classmethod
    def load(cls, folder: str | Path, meta: dict[str, Any]) -> ClassicalClassifier:
        ens = TreeEnsemble.load(Path(folder) / meta["weights"])
        rest = {k: v for k, v in meta.items()
                if k not in ("kind", "model_type", "feature_names", "classes", "weights")}
        return cls(model_type=meta["model_type"], feature_names=list(meta["feature_names"]),
                   classes=list(meta["classes"]), ensemble=ens, meta=rest)


def train_classical(
    features: pd.DataFrame,
    y: Sequence[str],
    *,
    model: Literal["rf", "gb", "svm"] = "rf",
    feature_names: Sequence[str],
    seed: int = 0,
    class_weight: bool = True,
) -> ClassicalClassifier:
    """Fit a classical classifier on labelled objects.

    Parameters
    ----------
    features : DataFrame
        Feature table (rows = labelled objects).
    y : sequence of str
        Class per row.
    model : ``"rf"`` (random forest, 200 trees), ``"gb"`` (gradient boosting, 150
        stages of depth 3) or ``"svm"`` (RBF SVC on standardised features).
    feature_names : sequence of str
        Columns to use.
    seed : int
        Random state of the model.
    class_weight : bool
        Weight classes inversely to their frequency (mitosis is rare).
    """
    from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    from .labels import check_training_labels

    y = np.asarray([str(v) for v in y])
    classes = check_training_labels(y)
    yi = np.searchsorted(classes, y)
    X = features[list(feature_names)].to_numpy(dtype=np.float64)
    counts = np.bincount(yi, minlength=len(classes))
    weights = (len(yi) / (len(classes) * counts))[yi] if class_weight else None
    if model == "rf":
        est = RandomForestClassifier(n_estimators=200, min_samples_leaf=2,
                                     random_state=seed, n_jobs=1)
        est.fit(X, yi, sample_weight=weights)
    elif model == "gb":
        est = GradientBoostingClassifier(n_estimators=150, max_depth=3, learning_rate=0.1,
                                         subsample=0.8, random_state=seed)
        est.fit(X, yi, sample_weight=weights)
    elif model == "svm":
        svc = make_pipeline(StandardScaler(), SVC(C=1.0, gamma="scale",
                                                  class_weight="balanced" if class_weight
                                                  else None, random_state=seed))
        est = _PlattSVC(svc).fit(X, yi)
    else:
        from ..errors import ConfigError

        raise ConfigError(f"model must be one of {CLASSICAL_MODELS} (got {model!r})")
    meta: dict[str, Any] = {"seed": seed, "n_train": int(len(yi)),
                            "class_counts": {c: int(n) for c, n in zip(classes, counts)}}
    if model in ("rf", "gb"):
        ens = TreeEnsemble.from_sklearn(est, X.shape[1])
        meta["impurity_importance"] = [float(v) for v in est.feature_importances_]
        return ClassicalClassifier(model, list(feature_names), list(classes), ensemble=ens,
                                   meta=meta)
    rng = np.random.default_rng(seed)
    bg = X[rng.choice(len(X), size=min(len(X), 50), replace=False)]
    return ClassicalClassifier(model, list(feature_names), list(classes), estimator=est,
                               background=bg, meta=meta)

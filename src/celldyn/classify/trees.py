"""Tree ensembles as plain arrays: prediction, per-object contributions, safe storage.

scikit-learn trains the forests (``RandomForestClassifier``,
``GradientBoostingClassifier``); this module copies their fitted ``tree_`` arrays
(children, split feature, threshold, node values) into flat numpy arrays. Ours: the
walk that predicts and the walk that explains, and the ``.npz`` + JSON storage that
needs no pickle (``numpy.load(..., allow_pickle=False)``).

Contributions are Saabas' path decomposition: each split on the path of a sample
adds the change in node value to the feature it splits on, so that for every sample
``bias + contributions.sum(features) == prediction`` exactly. For a random forest the
values are class fractions, so the sum is the predicted probability; for gradient
boosting they are the raw (log-odds) scores summed by ``decision_function``.

References
----------
Saabas A., "Interpreting random forests" (2014), the treeinterpreter method.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ..errors import ModelError

__all__ = ["TreeEnsemble"]


def _as_tree_input(X: np.ndarray) -> np.ndarray:
    # scikit-learn compares float32 inputs with its thresholds; do the same
    return np.asarray(X, dtype=np.float32).astype(np.float64)


@dataclass
class TreeEnsemble:
    """A fitted tree ensemble in flat arrays.

    Attributes
    ----------
    kind : ``"mean"`` or ``"additive"``
        ``mean``: outputs are the average of tree values (random forest, class
        fractions). ``additive``: outputs are ``init + scale * sum`` of tree values,
        mapped to probabilities by a sigmoid (1 output) or softmax.
    left, right, feature : int arrays (n_nodes,)
        Global child indices (-1 at leaves) and split features.
    threshold : float array (n_nodes,)
        Go left when ``x[feature] <= threshold``.
    value : float array (n_nodes, n_outputs)
    roots : int array (n_trees,)
    output : int array (n_trees,)
        Output column each tree adds to (additive kind); -1 = all columns.
    """

    kind: Literal["mean", "additive"]
    left: np.ndarray
    right: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray
    value: np.ndarray
    roots: np.ndarray
    output: np.ndarray
    n_features: int
    init: np.ndarray = field(default_factory=lambda: np.zeros(1))
    scale: float = 1.0

    # ------------------------------------------------------------ construction
    @classmethod
    def from_sklearn(cls, model: Any, n_features: int) -> TreeEnsemble:
        """Copy a fitted RandomForestClassifier or GradientBoostingClassifier."""
        from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier

        if isinstance(model, RandomForestClassifier):
            trees = [(e.tree_, -1) for e in model.estimators_]
            kind = "mean"
        elif isinstance(model, GradientBoostingClassifier):
            trees = [(model.estimators_[i, k].tree_, k)
                     for i in range(model.estimators_.shape[0])
                     for k in range(model.estimators_.shape[1])]
            kind = "additive"
        else:  # pragma: no cover - guarded by the caller
            raise ModelError(f"cannot convert {type(model).__name__} to a TreeEnsemble")
        left, right, feat, thr, val, roots, out = [], [], [], [], [], [], []
        offset = 0
        for tree, k in trees:
            n = tree.node_count
            lo = tree.children_left.astype(np.int64)
            ro = tree.children_right.astype(np.int64)
            left.append(np.where(lo >= 0, lo + offset, -1))
            right.append(np.where(ro >= 0, ro + offset, -1))
            feat.append(tree.feature.astype(np.int64))
            thr.append(tree.threshold.astype(np.float64))
            v = tree.value[:, 0, :].astype(np.float64)
            if kind == "mean":  # class fractions (older sklearn stored counts)
                v = v / np.maximum(v.sum(axis=1, keepdims=True), 1e-300)
            val.append(v)
            roots.append(offset)
            out.append(k)
            offset += n
        ens = cls(kind=kind, left=np.concatenate(left), right=np.concatenate(right),
                  feature=np.concatenate(feat), threshold=np.concatenate(thr),
                  value=np.concatenate(val), roots=np.asarray(roots, np.int64),
                  output=np.asarray(out, np.int64), n_features=int(n_features))
        if kind == "additive":
            ens.scale = float(model.learning_rate)
            x0 = np.zeros((1, n_features))
            raw = np.atleast_2d(model.decision_function(x0)).reshape(1, -1)
            ens.init = np.zeros(raw.shape[1])
            ens.init = (raw - ens._raw_sum(x0))[0]
        return ens

    # ------------------------------------------------------------ evaluation
    @property
    def n_outputs(self) -> int:
        if self.kind == "mean":
            return int(self.value.shape[1])
        return int(self.output.max()) + 1

    def _walk(self, X: np.ndarray, contrib: np.ndarray | None = None) -> np.ndarray:
        """Leaf value sums per output; adds path contributions into `contrib`."""
        n = X.shape[0]
        rows = np.arange(n)
        total = np.zeros((n, self.n_outputs))
        for root, k in zip(self.roots, self.output):
            node = np.full(n, root, dtype=np.int64)
            active = self.left[node] >= 0
            while active.any():
                idx = rows[active]
                nd = node[idx]
                f = self.feature[nd]
                go_left = X[idx, f] <= self.threshold[nd]
                child = np.where(go_left, self.left[nd], self.right[nd])
                if contrib is not None:
                    delta = self.value[child] - self.value[nd]
                    if k < 0:
                        np.add.at(contrib, (idx, f), delta)
                    else:
                        np.add.at(contrib[:, :, k], (idx, f), delta[:, 0])
                node[idx] = child
                active = self.left[node] >= 0
            if k < 0:
                total += self.value[node]
            else:
                total[:, k] += self.value[node, 0]
        return total

    def _raw_sum(self, X: np.ndarray) -> np.ndarray:
        return self.scale * self._walk(X)

    def _bias(self) -> np.ndarray:
        if self.kind == "mean":
            return self.value[self.roots].mean(axis=0)
        b = self.init.copy()
        for root, k in zip(self.roots, self.output):
            b[k] += self.scale * self.value[root, 0]
        return b

    def raw(self, X: np.ndarray) -> np.ndarray:
        """Ensemble output before the link: class fractions (mean) or scores."""
        X = _as_tree_input(X)
        if self.kind == "mean":
            return self._walk(X) / len(self.roots)
        return self.init + self._raw_sum(X)

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        r = self.raw(X)
        if self.kind == "mean":
            return r
        if r.shape[1] == 1:
            p1 = 1.0 / (1.0 + np.exp(-r[:, 0]))
            return np.column_stack([1 - p1, p1])
        e = np.exp(r - r.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    def contributions(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per-sample feature contributions.

        Returns
        -------
        bias : (n_outputs,) array
            Output at the roots (the training average).
        contrib : (n_samples, n_features, n_outputs) array
            ``bias + contrib.sum(axis=1) == self.raw(X)`` (up to rounding).
        """
        X = _as_tree_input(X)
        contrib = np.zeros((X.shape[0], self.n_features, self.n_outputs))
        self._walk(X, contrib)
        if self.kind == "mean":
            contrib /= len(self.roots)
        else:
            contrib *= self.scale
        return self._bias(), contrib

    # ------------------------------------------------------------ storage
    _ARRAYS = ("left", "right", "feature", "threshold", "value", "roots", "output", "init")

    def save(self, path: str | Path) -> None:
        """Write arrays to an ``.npz`` (no pickled objects)."""
        meta = np.frombuffer(json.dumps({"kind": self.kind, "scale": self.scale,
                                         "n_features": self.n_features}).encode(),
                             dtype=np.uint8)
        with open(path, "wb") as fh:
            np.savez_compressed(fh, meta=meta, **{a: getattr(self, a) for a in self._ARRAYS})

    @classmethod
    def load(cls, path: str | Path) -> TreeEnsemble:
        try:
            with np.load(path, allow_pickle=False) as z:
                meta = json.loads(bytes(z["meta"]).decode())
                arrays = {a: z[a] for a in cls._ARRAYS}
        except (OSError, KeyError, ValueError) as err:
            raise ModelError(f"{path} is not a celldyn tree model ({err})") from None
        return cls(kind=meta["kind"], scale=float(meta["scale"]),
                   n_features=int(meta["n_features"]), **arrays)

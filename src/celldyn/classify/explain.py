"""Explanations of one object's class: feature contributions (classical models) and
a saliency image (CNN). Pure functions; :func:`saliency_figure` returns an RGB array
that the CLI writes."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError

__all__ = ["explain_object", "saliency_figure", "find_object"]


def find_object(features: pd.DataFrame, t: int, label: int) -> int:
    """Row position of object (t, label); InputError if absent."""
    hit = np.flatnonzero((features["t"].to_numpy() == t) & (features["label"].to_numpy() == label))
    if hit.size == 0:
        raise InputError(
            f"no object with t={t}, label={label} in this run; labels at t={t} are "
            f"{sorted(features.loc[features['t'] == t, 'label'].tolist())[:10]}"
        )
    return int(hit[0])


def explain_object(model: Any, features: pd.DataFrame, t: int, label: int
                   ) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Feature contributions to the predicted class of object (t, label).

    Returns
    -------
    table : DataFrame
        Columns ``feature, value, contribution``, sorted by |contribution|.
    info : dict
        ``predicted``, ``proba`` (per class), ``bias``, ``output`` and ``space``
        (see :meth:`ClassicalClassifier.explain`).
    """
    i = find_object(features, t, label)
    row = features.iloc[[i]]
    contrib, info = model.explain(row)
    table = pd.DataFrame({"feature": model.feature_names,
                          "value": row[model.feature_names].to_numpy()[0],
                          "contribution": contrib.to_numpy()[0]})
    table = table.reindex(table["contribution"].abs().sort_values(ascending=False).index)
    proba = model.predict_proba(row)[0]
    return table.reset_index(drop=True), {
        "predicted": info["predicted"][0], "bias": float(info["bias"][0]),
        "output": float(info["output"][0]), "space": info["space"],
        "proba": {c: float(p) for c, p in zip(model.classes, proba)},
    }


def saliency_figure(crop: np.ndarray, saliency_map: np.ndarray, *, scale: int = 4
                    ) -> np.ndarray:
    """Side-by-side RGB image: the crop (gray, object outline in green) and the
    gradient x input map (red = evidence for the class, blue = against).

    Returns
    -------
    (S*scale, 2*S*scale + scale, 3) uint8 array
    """
    img = np.clip(crop[0], 0, 1)
    rgb = np.stack([img] * 3, axis=-1)
    mask = crop[1] > 0.5
    from scipy import ndimage as ndi

    edge = mask & ~ndi.binary_erosion(mask)
    rgb[edge] = [0.0, 1.0, 0.0]
    m = np.abs(saliency_map).max() or 1.0
    s = saliency_map / m
    sal = np.stack([np.clip(s, 0, 1), np.zeros_like(s), np.clip(-s, 0, 1)], axis=-1)
    sal = sal * 0.8 + 0.2 * np.stack([img] * 3, axis=-1)
    gap = np.ones((img.shape[0], 1, 3))
    both = np.concatenate([rgb, gap, sal], axis=1)
    both = np.kron(both, np.ones((scale, scale, 1)))
    return (np.clip(both, 0, 1) * 255).astype(np.uint8)

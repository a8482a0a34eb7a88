"""Classifier registry: shipped models by name, user models by folder; sha256-checked.

A model folder holds ``model.json`` (kind, classes, features, training record, the
name and sha256 of its weights file) and the weights: ``trees.npz`` (classical) or
``cnn.pt`` (a PyTorch state_dict, loaded with ``weights_only=True``). Nothing is
unpickled. Shipped models also have their hash pinned here, so an edited file
cannot pass by rewriting its own ``model.json``.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

from ..errors import ModelError
from .._weights import verified_weights

__all__ = ["SHIPPED", "check_classifier", "load_classifier", "model_folder"]

SHIPPED: dict[str, dict[str, str]] = {
    # name: folder under celldyn/models, weights file, pinned sha256
    "mitosis": {"folder": "mitosis", "weights": "trees.npz",
                "sha256": "922d3dd996446d00c91944b6ebb8d1a684e38d25643ef0403ffd04480bf53f0e"},
    "mitosis-cnn": {"folder": "mitosis", "weights": "cnn.pt",
                    "sha256": "5ab81151028ee94ae3612b3e99c1304f7a94f4b65e3ca89f3d379cb3215f8e7d"},
}


def model_folder(name: str) -> Path:
    """Folder of a shipped model."""
    return Path(str(resources.files("celldyn") / "models" / SHIPPED[name]["folder"]))


def check_classifier(name: Any) -> None:
    """Raise :class:`ModelError` for a classifier that is neither shipped nor a folder
    with model.json, before any work (the loader checks the weights themselves)."""
    if not isinstance(name, (str, Path)) or (isinstance(name, str) and name in SHIPPED):
        return
    if not (Path(name) / "model.json").is_file():
        raise ModelError(
            f"unknown classifier {str(name)!r}: not one of {sorted(SHIPPED)} and not a "
            "folder with model.json (train one with: celldyn train classifier)"
        )


def load_classifier(name: str | Path) -> Any:
    """Load a classifier by shipped name (``mitosis``, ``mitosis-cnn``) or folder path.

    Raises
    ------
    ModelError
        Unknown name, missing folder or file, or a weights file whose sha256 differs
        from the one recorded (pinned here for shipped models, in ``model.json``
        otherwise).
    """
    pinned = None
    weights = None
    if isinstance(name, str) and name in SHIPPED:
        folder = model_folder(name)
        pinned = SHIPPED[name]["sha256"]
        weights = SHIPPED[name]["weights"]
        meta_file = folder / ("model.json" if weights == "trees.npz" else "cnn.json")
    else:
        folder = Path(name)
        meta_file = folder / "model.json"
        if not meta_file.is_file():
            raise ModelError(
                f"unknown classifier {str(name)!r}: not one of {sorted(SHIPPED)} and not a "
                "folder with model.json (train one with: celldyn train classifier)"
            )
    try:
        meta = json.loads(meta_file.read_text())
    except (OSError, ValueError) as err:
        raise ModelError(f"{meta_file} cannot be read ({err})") from None
    weights = weights or meta.get("weights")
    verified_weights(folder / str(weights), pinned or meta.get("sha256"))
    if meta.get("kind") == "cnn":
        from .cnn import CNNClassifier

        model = CNNClassifier.load(folder, meta, weights)
    else:
        from .classical import ClassicalClassifier

        model = ClassicalClassifier.load(folder, meta)
    model.meta["name"] = str(name)
    return model

"""Training the learned tracker on real ground truth: frame parts of CTC movies and
training with validation.

Real ground truth is cut into frame parts (:func:`crop_ctc`) so that one movie gives
training, validation and test frames (benchmarks/splits.py says which);
:func:`train_tracker` trains and keeps the epoch with the lowest validation loss.
Ours: the part cutting and the model selection; the loop is :func:`train_association`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ..errors import InputError
from ..track.learned.inference import LearnedAssociation
from .tracker import LinkExample, examples_from_gt, train_association

__all__ = ["crop_ctc", "ctc_examples", "train_tracker", "validation_loss"]


def crop_ctc(
    labels: NDArray, table: pd.DataFrame, first: int, last: int
) -> tuple[NDArray, pd.DataFrame]:
    """Frames ``first..last`` (inclusive) of a CTC label movie, its track table rebuilt.

    A track keeps its frames inside the part (``begin``/``end`` clipped and shifted
    so the part starts at 0); a track with none is dropped; a parent is kept only
    when it ends inside the part before its daughter begins, so no link crosses the
    part's edges.

    Examples
    --------
    >>> labels = np.zeros((4, 3, 3), np.int32)
    >>> labels[:2, 0, 0] = 1; labels[2:, 0, 0] = 2; labels[2:, 2, 2] = 3
    >>> table = pd.DataFrame({"label": [1, 2, 3], "begin": [0, 2, 2], "end": [1, 3, 3],
    ...                       "parent": [0, 1, 1]})
    >>> crop_ctc(labels, table, 1, 3)[1].values.tolist()
    [[1, 0, 0, 0], [2, 1, 2, 1], [3, 1, 2, 1]]
    >>> crop_ctc(labels, table, 2, 3)[1].values.tolist()
    [[2, 0, 1, 0], [3, 0, 1, 0]]
    """
    labels = np.asarray(labels)
    first, last = int(first), int(last)
    if not 0 <= first <= last < labels.shape[0]:
        raise InputError(f"frames {first}..{last} are not inside the movie's "
                         f"{labels.shape[0]} frames")
    part = labels[first:last + 1]
    rows: dict[int, list[int]] = {}
    parent_of: dict[int, int] = {}
    for r in table.itertuples(index=False):
        parent_of[int(r.label)] = int(r.parent)
        b, e = max(int(r.begin), first) - first, min(int(r.end), last) - first
        if b <= e:
            rows[int(r.label)] = [int(r.label), b, e, 0]
    for lab, row in rows.items():
        p = parent_of.get(lab, 0)
        if p in rows and rows[p][2] < row[1]:
            row[3] = p
    out = pd.DataFrame(sorted(rows.values()), columns=["label", "begin", "end", "parent"])
    part = np.where(np.isin(part, out["label"].to_numpy()), part, 0).astype(part.dtype)
    return part, out.astype(np.int64)


def ctc_examples(
    labels: NDArray,
    table: pd.DataFrame,
    *,
    movie: NDArray | None = None,
    name: str = "movie",
    frames: tuple[int, int] | None = None,
    steps: Sequence[int] = (1,),
    with_masks: Sequence[bool] = (True, False),
) -> list[LinkExample]:
    """Examples from frames ``frames = (first, last)`` of a CTC ground truth (all
    frames when None), every step of `steps` (:func:`examples_from_gt`)."""
    if frames is not None:
        labels, table = crop_ctc(labels, table, *frames)
        movie = None if movie is None else np.asarray(movie)[frames[0]:frames[1] + 1]
        name = f"{name}[{frames[0]}-{frames[1]}]"
    out: list[LinkExample] = []
    for step in steps:
        if np.asarray(labels).shape[0] < 2 * step:
            continue
        out += examples_from_gt(labels, table, movie=movie, name=name, step=step,
                                with_masks=with_masks)
    return out


def validation_loss(model: LearnedAssociation, examples: Sequence[LinkExample]) -> float:
    """Mean binary cross-entropy of `model` over the candidates of `examples`."""
    import torch

    net = model.net
    was_training = net.training
    net.eval()
    total, weight = 0.0, 0
    with torch.no_grad():
        for e in examples:
            x, sp, tp, y = e.tensors()
            if len(y):
                loss = torch.nn.functional.binary_cross_entropy_with_logits(
                    net(x, sp, tp), y, reduction="sum")
                total += float(loss)
                weight += len(y)
    net.train(was_training)
    return total / max(weight, 1)


def train_tracker(
    examples: Sequence[LinkExample],
    validation: Sequence[LinkExample] = (),
    *,
    epochs: int = 15,
    seed: int = 0,
    log: Callable[[str], None] | None = None,
    **kwargs,
) -> tuple[LearnedAssociation, list[float]]:
    """:func:`train_association`, keeping the epoch with the lowest validation loss.

    Without `validation` the last epoch is kept. ``model.config`` records
    ``validation_loss`` (per epoch) and ``best_epoch`` (1-based).
    """
    best: dict = {"loss": np.inf, "epoch": epochs, "state": None}
    losses: list[float] = []

    def on_epoch(epoch: int, model: LearnedAssociation) -> None:
        if not validation:
            return
        loss = validation_loss(model, validation)
        losses.append(loss)
        if log:
            log(f"epoch {epoch}: validation loss {loss:.4f}")
        if loss < best["loss"]:
            best.update(loss=loss, epoch=epoch,
                        state=copy.deepcopy(model.net.state_dict()))

    model, history = train_association(examples, epochs=epochs, seed=seed, log=log,
                                       on_epoch=on_epoch, **kwargs)
    if best["state"] is not None:
        model.net.load_state_dict(best["state"])
    model.net.eval()
    model.config.update(best_epoch=int(best["epoch"]),
                        validation_loss=[round(v, 5) for v in losses])
    return model, history

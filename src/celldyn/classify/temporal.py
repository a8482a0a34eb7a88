"""Temporal consistency of classes along tracks: HMM smoothing (Viterbi, posteriors).

Per-frame class probabilities from a classifier are treated as HMM emissions
(``p(class | object) / p(class)``, the scaled likelihood) and combined with a
transition matrix between classes. Viterbi gives the most likely class sequence of
each track; forward-backward gives smoothed probabilities. All in log space; ours,
a few dozen lines of numpy.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..errors import InputError

__all__ = ["check_transition", "mitosis_transition", "fit_transition", "viterbi",
           "forward_backward", "smooth_tracks", "choose_strength"]

_TINY = 1e-12


def check_transition(transition: np.ndarray, n_classes: int) -> np.ndarray:
    """Validate a row-stochastic (n_classes, n_classes) transition matrix."""
    A = np.asarray(transition, dtype=np.float64)
    if A.shape != (n_classes, n_classes):
        raise InputError(
            f"transition matrix must be {n_classes}x{n_classes} (one row and column per "
            f"class); got shape {A.shape}"
        )
    if (A < 0).any() or not np.allclose(A.sum(axis=1), 1.0, atol=1e-6):
        raise InputError(
            "transition matrix rows must be non-negative and sum to 1; got row sums "
            f"{np.round(A.sum(axis=1), 4).tolist()}"
        )
    return A


def mitosis_transition(classes: Sequence[str], *, mitotic: str = "mitosis",
                       stay: float = 0.95, leave_mitosis: float = 0.01) -> np.ndarray:
    """Default transitions for {interphase, mitosis}: interphase may enter mitosis;
    mitosis persists until the track ends at the division (leaving it is rare)."""
    classes = list(classes)
    if len(classes) != 2 or mitotic not in classes:
        raise InputError(
            f"the default transition matrix is for classes (interphase, {mitotic!r}); got "
            f"{classes}; pass your own transition matrix"
        )
    m = classes.index(mitotic)
    A = np.zeros((2, 2))
    A[1 - m, 1 - m], A[1 - m, m] = stay, 1 - stay
    A[m, m], A[m, 1 - m] = 1 - leave_mitosis, leave_mitosis
    return A


def fit_transition(objects: pd.DataFrame, classes: Sequence[str], *,
                   column: str = "class", pseudo: float = 1.0) -> np.ndarray:
    """Transition matrix counted from labelled tracks (maximum likelihood with
    `pseudo` added to every count).

    Parameters
    ----------
    objects : DataFrame
        ``t``, ``label`` (track id) and the true class in `column`, one row per
        object. Only steps between consecutive frames of a track are counted.
    classes : sequence of str
        Row / column order.

    Examples
    --------
    >>> obj = pd.DataFrame({"t": [0, 1, 2, 3], "label": 1,
    ...                     "class": ["i", "i", "m", "m"]})
    >>> fit_transition(obj, ["i", "m"], pseudo=0).tolist()
    [[0.5, 0.5], [0.0, 1.0]]
    """
    classes = list(classes)
    K = len(classes)
    counts = np.full((K, K), float(pseudo))
    index = {c: k for k, c in enumerate(classes)}
    f = objects.sort_values(["label", "t"], kind="stable")
    lab, t = f["label"].to_numpy(), f["t"].to_numpy()
    c = f[column].map(index).to_numpy()
    if np.isnan(c.astype(float)).any():
        raise InputError(f"objects hold classes outside {classes}")
    step = (lab[1:] == lab[:-1]) & (t[1:] == t[:-1] + 1)
    np.add.at(counts, (c[:-1][step].astype(int), c[1:][step].astype(int)), 1.0)
    rows = counts.sum(axis=1, keepdims=True)
    rows[rows == 0] = 1.0
    A = counts / rows
    A[counts.sum(axis=1) == 0] = np.eye(K)[counts.sum(axis=1) == 0]
    return A


def viterbi(log_emission: np.ndarray, transition: np.ndarray,
            start: np.ndarray | None = None) -> np.ndarray:
    """Most likely state sequence.

    Parameters
    ----------
    log_emission : (T, K) array
        log p(observation_t | state k).
    transition : (K, K) array
        ``transition[i, j] = p(state_t+1 = j | state_t = i)``.
    start : (K,) array, optional
        Initial state probabilities (default uniform).

    Returns
    -------
    (T,) int array of states

    Examples
    --------
    >>> A = np.array([[0.9, 0.1], [0.0, 1.0]])  # state 1 is absorbing
    >>> e = np.log([[.9, .1], [.4, .6], [.9, .1], [.2, .8], [.1, .9]])
    >>> viterbi(e, A).tolist()
    [0, 0, 0, 1, 1]
    """
    e = np.asarray(log_emission, dtype=np.float64)
    T, K = e.shape
    logA = np.log(np.asarray(transition) + _TINY)
    logs = np.log(np.full(K, 1.0 / K) if start is None else np.asarray(start) + _TINY)
    score = logs + e[0]
    back = np.zeros((T, K), dtype=np.int64)
    for t in range(1, T):
        cand = score[:, None] + logA
        back[t] = cand.argmax(axis=0)
        score = cand.max(axis=0) + e[t]
    path = np.zeros(T, dtype=np.int64)
    path[-1] = int(score.argmax())
    for t in range(T - 1, 0, -1):
        path[t - 1] = back[t, path[t]]
    return path


def forward_backward(log_emission: np.ndarray, transition: np.ndarray,
                     start: np.ndarray | None = None) -> np.ndarray:
    """Posterior state probabilities (T, K) given the whole sequence."""
    from scipy.special import logsumexp

    e = np.asarray(log_emission, dtype=np.float64)
    T, K = e.shape
    logA = np.log(np.asarray(transition) + _TINY)
    logs = np.log(np.full(K, 1.0 / K) if start is None else np.asarray(start) + _TINY)
    fw = np.zeros((T, K))
    bw = np.zeros((T, K))
    fw[0] = logs + e[0]
    for t in range(1, T):
        fw[t] = logsumexp(fw[t - 1][:, None] + logA, axis=0) + e[t]
    for t in range(T - 2, -1, -1):
        bw[t] = logsumexp(logA + (e[t + 1] + bw[t + 1])[None, :], axis=1)
    post = fw + bw
    post -= logsumexp(post, axis=1, keepdims=True)
    return np.exp(post)


def smooth_tracks(
    objects: pd.DataFrame,
    proba: np.ndarray,
    *,
    transition: np.ndarray,
    prior: np.ndarray | None = None,
    strength: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Smooth per-object class probabilities along each track (same ``label`` over
    ``t``).

    Parameters
    ----------
    objects : DataFrame
        Columns ``t`` and ``label`` (track id), one row per object.
    proba : (n_objects, K) array
        Per-object class probabilities from a classifier, rows as `objects`.
    transition : (K, K) array
        Row-stochastic transition matrix between classes.
    prior : (K,) array, optional
        Class frequencies the classifier was trained with; emissions are
        ``proba / prior`` (default: uniform, i.e. the probabilities themselves). Also
        without smoothing (strength 0) the class is then the argmax of the normalised
        ``proba / prior``: for two classes, prior ``[1 - q, q]`` is a decision
        threshold ``q`` on the second class's probability.
    strength : float
        Weight of the transitions against the per-frame evidence: the log emissions
        are divided by it (1: the plain HMM; larger: smoother; 0: no smoothing, the
        per-object argmax and probabilities are returned unchanged). Choose it on
        validation tracks with :func:`choose_strength`.

    Returns
    -------
    states : (n_objects,) int array
        Viterbi class index per object.
    posterior : (n_objects, K) array
        Forward-backward probabilities.
    """
    proba = np.asarray(proba, dtype=np.float64)
    K = proba.shape[1]
    A = check_transition(transition, K)
    if len(proba) != len(objects):
        raise InputError(f"proba has {len(proba)} rows but objects has {len(objects)}")
    pri = np.full(K, 1.0 / K) if prior is None else np.asarray(prior, dtype=np.float64)
    if strength < 0:
        raise InputError(f"smoothing strength must be >= 0; got {strength}")
    post = proba.copy()
    if prior is not None:  # the per-object decision follows the prior too
        post = proba / (pri + _TINY)
        post /= post.sum(axis=1, keepdims=True)
    states = post.argmax(axis=1).astype(np.int64)
    if strength == 0:
        return states, post
    loge = (np.log(np.clip(proba, _TINY, 1.0)) - np.log(pri + _TINY)) / float(strength)
    t = objects["t"].to_numpy()
    for _, idx in objects.groupby("label", sort=False).indices.items():
        idx = idx[np.argsort(t[idx], kind="stable")]
        states[idx] = viterbi(loge[idx], A, start=pri)
        post[idx] = forward_backward(loge[idx], A, start=pri)
    return states, post


def choose_strength(
    objects: pd.DataFrame,
    proba: np.ndarray,
    truth: Sequence[int],
    *,
    transition: np.ndarray,
    strengths: Sequence[float] = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0),
    score=None,
    prior: np.ndarray | None = None,
) -> tuple[float, dict[float, float]]:
    """The smoothing strength that scores best on labelled (validation) tracks.

    Strength 0 (no smoothing) is always a candidate and wins ties, so smoothing is
    switched on only where it raised the score on these tracks.

    Parameters
    ----------
    objects, proba, transition
        As :func:`smooth_tracks`.
    truth : (n_objects,) int array
        True class index per object.
    score : callable, optional
        ``score(truth, predicted) -> float``; default balanced accuracy.

    Returns
    -------
    strength : float
    scores : dict
        Score per candidate strength.
    """
    if score is None:
        from sklearn.metrics import balanced_accuracy_score as score
    truth = np.asarray(truth)
    scores = {}
    for s in sorted({0.0, *map(float, strengths)}):
        states, _ = smooth_tracks(objects, proba, transition=transition, strength=s,
                                  prior=prior)
        scores[s] = float(score(truth, states))
    best = max(scores.values())
    return min(s for s, v in scores.items() if v >= best - 1e-12), scores

"""Active learning: which crops of a movie to annotate next (``celldyn annotate-next``).

What is ours: the uncertainty, the selection rule (below) and the proposal layout. What we
delegate: the network and its post-processing (:mod:`celldyn.segment.deep`), the
fine-tuning loop (:func:`celldyn.segment.deep.finetune.train_on_pairs`, called by
:func:`fine_tune` and ``celldyn train segment --continue``).

Uncertainty comes from the model itself, by **test-time augmentation** (TTA): the
deep model predicts each frame under the eight symmetries of the square (identity,
three 90° rotations, and each of them flipped); every prediction is mapped back, and
the per-pixel standard deviation across the eight of the foreground probability
(``1 - P(background)``) and of the boundary probability, summed, is the pixel's
disagreement. The network was trained with flips and 90° rotations, so where it
understands the image the eight answers agree; where they disagree (ambiguous
contacts, unfamiliar texture, out-of-focus cells) its answer depends on the pose of
the image, a sign that a label there would teach it something. A crop's uncertainty
is the mean disagreement over its pixels.

Embeddings: the model's own bottleneck features of a crop (the deepest encoder level,
averaged and its spread taken over the crop), so crops the network sees alike lie
close together.

Selection (:func:`select_typical`) depends on the budget, because pure uncertainty
sampling fails at the start: with nothing annotated yet, the crops on which a model
disagrees with itself most are those least like anything it knows (outliers: another
modality, debris, an empty corner), and the first corrections then teach it what the
movie hardly holds (the "cold-start problem"; Hacohen, Dekel & Weinshall 2022, "Active
learning on a budget", ICML). So:

- **Cold start** (no crop of this movie annotated yet): TypiClust. The candidates'
  embeddings are clustered by k-means into ``n`` clusters; the largest clusters are
  taken first, and of each the most *typical* crop (the inverse mean distance to its
  20 nearest neighbours in embedding space): the crops that stand for most of the
  movie, one per kind of content.
- **Later rounds** (``--exclude`` names the earlier rounds): information density
  (Settles & Craven 2008, "An analysis of active learning strategies for sequence
  labeling tasks", EMNLP). Candidates and annotated crops are clustered into ``m + n``
  clusters (``m`` annotated crops); clusters holding an annotated crop are covered; each
  pick is the crop of an uncovered cluster with the highest TTA uncertainty weighted by
  its typicality, ``(0.05 + u) x typicality`` (both scaled to [0, 1]), and covers its
  cluster. The density weight keeps outliers down; the one-per-uncovered-cluster rule is
  the diversity term: no two proposals of one cluster, none where annotation exists.

Our contribution is the combination and the switch on the annotated count (the
clustering is scikit-learn's ``KMeans``, the neighbours its ``NearestNeighbors``).
:func:`select_diverse`, the earlier rule (uncertainty-weighted farthest points among
the most uncertain crops, the most uncertain first), is kept for comparison
(benchmarks/active_learning.py, "Active learning" in benchmarks/RESULTS.md).

Layout written by :func:`write_proposals` (opens in napari: drag ``images/NAME.tif``
then ``labels/NAME.tif`` in, the latter as a Labels layer; correct it and save over
it)::

    OUT/images/crop_000.tif        raw crop (the movie's dtype)
    OUT/labels/crop_000.tif        current prediction, a starting label (uint16)
    OUT/uncertainty/crop_000.tif   TTA disagreement map (float32)
    OUT/manifest.json / .csv       frame, box, uncertainty, rank, model, diameter
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .errors import InputError

__all__ = [
    "DEFAULT_MODEL",
    "MANIFEST",
    "Proposal",
    "crop_embedding",
    "fine_tune",
    "propose_crops",
    "read_annotations",
    "select_diverse",
    "select_typical",
    "tta_maps",
    "write_corrected_labels",
    "write_proposals",
]

MANIFEST = "manifest.json"
#: the model ``annotate-next`` improves by default: the one ``--segmenter auto`` runs
DEFAULT_MODEL = "generalist2d"




def tta_maps(net: Any, image: np.ndarray, *, zoom: float = 1.0, tile: int | None = None,
             n_aug: int = 8) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean maps and per-pixel disagreement of a U-Net over test-time augmentations.

    Parameters
    ----------
    net : UNet
        A :class:`celldyn.segment.deep.unet.UNet` (``DeepSegmenter.net``).
    image : (Y, X) array
        One frame, normalised (``celldyn.segment.normalize_frame``).
    zoom : float
        Rescale factor to the model's working object size.
    n_aug : int
        How many of the eight square symmetries to use (identity first; 1 gives no
        disagreement).

    Returns
    -------
    prob : (3, Y, X) float32
        Mean background / interior / boundary probabilities.
    dist : (Y, X) float32
        Mean normalised distance.
    disagreement : (Y, X) float32
        Standard deviation across augmentations of ``1 - P(background)`` plus that of
        ``P(boundary)``.
    """
    from .segment.deep.inference import predict_maps_tta

    img = np.asarray(image, dtype=np.float32)
    if img.ndim != 2:
        raise InputError(f"active learning works on 2D frames; got shape {img.shape}")
    prob, dists = predict_maps_tta(net, img, n=n_aug, zoom=zoom, tile=tile, normalized=True)
    disagreement = (1.0 - prob[:, 0]).std(axis=0) + prob[:, 2].std(axis=0)
    return (prob.mean(axis=0).astype(np.float32),
            np.mean(dists, axis=0).astype(np.float32), disagreement.astype(np.float32))


def crop_embedding(net: Any, image: np.ndarray, *, zoom: float = 1.0) -> np.ndarray:
    """The model's own features of a normalised crop: mean and standard deviation of
    its bottleneck (deepest encoder level) over space, a ``(2 * channels,)`` vector."""
    import torch
    from skimage.transform import resize

    img = np.asarray(image, dtype=np.float32)
    if abs(zoom - 1.0) > 1e-6:
        shape = tuple(max(net.multiple, round(n * zoom)) for n in img.shape)
        img = resize(img, shape, order=1, preserve_range=True,
                     anti_aliasing=zoom < 1).astype(np.float32)
    m = net.multiple
    pad = [(0, (-n) % m) for n in img.shape]
    img = np.pad(img, pad, mode="reflect" if min(img.shape) > 1 else "edge")
    got: list[Any] = []
    hook = net.down[-1].register_forward_hook(lambda _m, _i, out: got.append(out))
    try:
        net.eval()
        with torch.inference_mode():
            net(torch.from_numpy(np.ascontiguousarray(img))[None, None])
    finally:
        hook.remove()
    feat = got[0][0].flatten(1).numpy()
    return np.concatenate([feat.mean(axis=1), feat.std(axis=1)]).astype(np.float32)


def select_diverse(uncertainty: Sequence[float], embeddings: np.ndarray, n: int, *,
                   shortlist: int = 4) -> list[int]:
    """Indices of `n` crops: uncertain and unlike each other (see the module docstring).

    Ties are broken by index (the earlier crop), so the choice is deterministic.

    Examples
    --------
    >>> emb = np.array([[0.0], [0.01], [1.0]])
    >>> select_diverse([1.0, 0.99, 0.5], emb, 2)  # not the near-duplicate 1
    [0, 2]
    """
    u = np.asarray(uncertainty, dtype=np.float64)
    emb = np.asarray(embeddings, dtype=np.float64).reshape(len(u), -1)
    n = min(int(n), len(u))
    if n <= 0:
        return []
    order = np.argsort(-u, kind="stable")
    pool = order[:max(n, int(shortlist) * n)]
    span = u[pool].max() - u[pool].min()
    un = (u[pool] - u[pool].min()) / span if span > 0 else np.ones(len(pool))
    chosen = [0]                                   # position in pool: the most uncertain
    dmin = np.linalg.norm(emb[pool] - emb[pool[0]], axis=1)
    while len(chosen) < n:
        top = dmin.max()
        dn = dmin / top if top > 0 else np.zeros_like(dmin)
        score = (0.05 + un) * dn       # an all-equal uncertainty still spreads out
        score[chosen] = -1.0
        nxt = int(np.argmax(score))
        chosen.append(nxt)
        dmin = np.minimum(dmin, np.linalg.norm(emb[pool] - emb[pool[nxt]], axis=1))
    return [int(pool[i]) for i in chosen]


def _typicality(x: np.ndarray, k: int) -> np.ndarray:
    """TypiClust's typicality: the inverse mean distance to the `k` nearest neighbours."""
    from sklearn.neighbors import NearestNeighbors

    k = max(1, min(int(k), len(x) - 1))
    if len(x) < 2:
        return np.ones(len(x))
    dist, _ = NearestNeighbors(n_neighbors=k + 1).fit(x).kneighbors(x)
    return 1.0 / (dist[:, 1:].mean(axis=1) + 1e-6)


def select_typical(uncertainty: Sequence[float], embeddings: np.ndarray, n: int, *,
                   annotated: np.ndarray | None = None, neighbours: int = 20,
                   min_cluster: int = 5, seed: int = 0) -> list[int]:
    """Indices of `n` crops to annotate next: representative, uncertain, distinct.

    The rule of ``celldyn annotate-next`` (the module docstring says why). Embeddings
    are standardised per feature over the candidates; the candidates and the crops
    annotated already (`annotated`, their embeddings) are clustered by k-means into
    ``m + n`` clusters (``m`` annotated crops); a cluster holding an annotated crop is
    *covered*. Each pick takes one crop of an uncovered cluster and covers it:

    - cold start (nothing annotated): the most *typical* crop (inverse mean distance to
      its `neighbours` nearest candidates) of the largest uncovered cluster
      (TypiClust, Hacohen et al. 2022);
    - later rounds: the crop of any uncovered cluster maximising the TTA uncertainty
      weighted by information density, ``(0.05 + u) x typicality`` (both scaled to
      [0, 1]; Settles & Craven 2008, with typicality as the density).

    With ``m + n`` clusters at least ``n`` are uncovered, so the `n` picks lie in `n`
    different clusters away from what is annotated (the diversity term). A cluster of
    fewer than `min_cluster` candidates (at most half the mean size) is a few outliers:
    it is set aside and the rest clustered again (as TypiClust ignores small clusters),
    so outliers neither take a cluster nor get picked. When every cluster is
    covered (small pools), the rest are picked farthest-point: score x distance to the
    nearest annotated or chosen crop. Deterministic
    for a fixed `seed` (k-means initialisation); ties go to the earlier crop.

    Examples
    --------
    >>> emb = np.array([[0.0], [0.1], [0.2], [10.0], [50.0]])
    >>> select_typical([0.1, 0.1, 0.1, 0.1, 1.0], emb, 1, neighbours=2)  # the dense group
    [1]
    """
    from sklearn.cluster import KMeans

    u = np.asarray(uncertainty, dtype=np.float64)
    emb = np.asarray(embeddings, dtype=np.float64).reshape(len(u), -1)
    done = (np.zeros((0, emb.shape[1])) if annotated is None or len(annotated) == 0
            else np.asarray(annotated, dtype=np.float64).reshape(-1, emb.shape[1]))
    n = min(int(n), len(u))
    if n <= 0:
        return []
    mu, sd = emb.mean(axis=0), emb.std(axis=0)
    sd[sd < 1e-12] = 1.0
    x, d = (emb - mu) / sd, (done - mu) / sd
    typ = _typicality(x, neighbours)
    typ = typ / typ.max()
    span = u.max() - u.min()
    un = (u - u.min()) / span if span > 0 else np.ones(len(u))
    cold = len(d) == 0
    score = typ if cold else (0.05 + un) * typ
    both = np.concatenate([x, d])
    k = min(len(d) + n, len(np.unique(both.round(9), axis=0)))
    small = min(float(min_cluster), len(x) / (2.0 * k))
    keep = np.ones(len(both), dtype=bool)  # candidates kept (outliers set aside, refit)
    for _ in range(4):
        kk = min(k, int(keep.sum()))
        fit = (KMeans(kk, n_init=10, random_state=seed).fit_predict(both[keep])
               if kk > 1 else np.zeros(int(keep.sum()), dtype=int))
        cluster = np.full(len(both), -1)
        cluster[keep] = fit
        size = np.bincount(fit, minlength=kk)
        tiny = (size < small) & (np.bincount(fit[keep[:len(x)].sum():], minlength=kk) == 0
                                 if len(d) else True)
        if not tiny.any() or keep[:len(x)].sum() - np.isin(cluster[:len(x)],
                                                           np.flatnonzero(tiny)).sum() < n:
            break
        keep[:len(x)] &= ~np.isin(cluster[:len(x)], np.flatnonzero(tiny))
    covered = set(cluster[len(x):].tolist())
    pool_c = cluster[:len(x)]
    eligible = (pool_c >= 0) & ~np.isin(pool_c, np.flatnonzero(tiny))
    if eligible.sum() < n:
        eligible = pool_c >= 0
    chosen: list[int] = []
    while len(chosen) < n:
        free = np.array([i for i in range(len(x)) if eligible[i] and i not in chosen
                         and pool_c[i] not in covered], dtype=int)
        if free.size == 0:          # every cluster covered (tiny pools): farthest point
            rest = [i for i in range(len(x)) if i not in chosen and eligible[i]] or \
                   [i for i in range(len(x)) if i not in chosen]
            ref = np.concatenate([d, x[chosen]])
            far = (np.array([np.linalg.norm(ref - x[i], axis=1).min() for i in rest])
                   if len(ref) else np.ones(len(rest)))
            best = rest[int(np.argmax(score[rest] * far))]
        elif cold:
            c = max(set(pool_c[free].tolist()), key=lambda c: (size[c], -c))
            members = free[pool_c[free] == c]
            best = int(members[np.argmax(score[members])])
        else:
            best = int(free[np.argmax(score[free])])
        chosen.append(best)
        covered.add(int(pool_c[best]))
    return chosen


@dataclass
class Proposal:
    """One proposed crop: where it is, how uncertain, and its arrays."""

    name: str
    frame: int
    box: tuple[int, int, int, int]            # y0, x0, y1, x1
    uncertainty: float
    n_predicted: int
    rank: int = 0
    image: np.ndarray = field(default=None, repr=False)          # type: ignore[assignment]
    labels: np.ndarray = field(default=None, repr=False)         # type: ignore[assignment]
    disagreement: np.ndarray = field(default=None, repr=False)   # type: ignore[assignment]

    def record(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("image", "labels", "disagreement"):
            d.pop(k)
        d["box"] = list(self.box)
        return d


def _grid(n: int, size: int) -> list[int]:
    if n <= size:
        return [0]
    k = int(np.ceil(n / size))
    return [int(round(v)) for v in np.linspace(0, n - size, k)]


def propose_crops(movie: Any, *, model: Any = DEFAULT_MODEL, n: int = 5, crop: int = 256,
                  frames: Sequence[int] | None = None, max_frames: int = 20,
                  diameter: float | None | str = "auto", n_aug: int = 8,
                  exclude: Sequence[tuple[int, int, int, int, int]] = (),
                  dark_objects: bool = False, progress: bool | type = False,
                  ) -> tuple[list[Proposal], dict[str, Any]]:
    """Propose the `n` crops of a 2D movie whose annotation should help the model most.

    Parameters
    ----------
    movie : (T, Y, X) array or Movie
        Single channel.
    model : str, path or DeepSegmenter
        The deep model to improve (shipped name or a folder from ``celldyn train
        segment``).
    n : int
        Crops to propose.
    crop : int
        Crop side in pixels of the movie (frames smaller than that give one crop).
    frames : sequence of int, optional
        Frames to consider; default `max_frames` frames evenly spread over the movie.
    diameter : float, "auto" or None
        Object diameter in pixels; "auto" asks the model's scale probe once on the
        middle frame (as ``celldyn run --segmenter deep``).
    n_aug : int
        Test-time augmentations (2 to 8).
    exclude : sequence of (frame, y0, x0, y1, x1)
        Crops annotated already (earlier rounds): crops overlapping them are skipped.

    Returns
    -------
    proposals : list of Proposal
        In proposal order, with the raw crop, the predicted labels and the
        disagreement map.
    info : dict
        Model, diameter, frames scored, number of candidate crops.
    """
    from .segment.classical import normalize_frame
    from .segment.deep.heads.postprocess import instances_from_maps
    from .segment.deep.inference import _post_kwargs
    from .segment.deep.registry import DeepSegmenter, load_segmenter

    # a Movie's pixels; an array is its own (ndarray.data is its raw buffer)
    data = movie if isinstance(movie, np.ndarray) else getattr(movie, "data", movie)
    if getattr(data, "ndim", 0) != 3:
        raise InputError(f"annotate-next needs a 2D movie (axes TYX, one channel); got shape "
                         f"{tuple(getattr(data, 'shape', ()))}")
    if n < 1 or crop < 16:
        raise InputError(f"need n >= 1 and crop >= 16 px (got n={n}, crop={crop})")
    seg = model if isinstance(model, DeepSegmenter) else load_segmenter(model)
    n_frames = data.shape[0]
    invert = float(np.max(data)) if dark_objects else None

    def frame(t: int) -> np.ndarray:
        f = np.asarray(data[t], dtype=np.float32)
        return invert - f if invert is not None else f

    if frames is None:
        frames = sorted(set(np.linspace(0, n_frames - 1, min(max_frames, n_frames))
                            .round().astype(int).tolist()))
    bad = [t for t in frames if not 0 <= t < n_frames]
    if bad:
        raise InputError(f"frame {bad[0]} is outside the movie (frames 0..{n_frames - 1})")
    if diameter == "auto":
        diameter = seg.estimate_diameter(frame(n_frames // 2))
    zoom = seg.zoom_for(diameter if isinstance(diameter, (int, float)) else None)
    cands: list[Proposal] = []
    embs: list[np.ndarray] = []
    it: Any = frames
    if progress:
        from tqdm.auto import tqdm as bar
        it = (progress if progress is not True else bar)(frames, desc="uncertainty",
                                                         unit="frame")
    for t in it:
        raw = frame(t)
        norm = normalize_frame(raw)
        if norm is None:                           # constant frame: nothing to learn
            continue
        prob, dist, dis = tta_maps(seg.net, norm, zoom=zoom, n_aug=n_aug)
        labels = instances_from_maps(prob, dist, **_post_kwargs(seg.thresholds, zoom))
        ny, nx = raw.shape
        for y0 in _grid(ny, crop):
            for x0 in _grid(nx, crop):
                y1, x1 = min(ny, y0 + crop), min(nx, x0 + crop)
                if any(e[0] == t and e[1] < y1 and y0 < e[3] and e[2] < x1 and x0 < e[4]
                       for e in exclude):
                    continue
                lab = labels[y0:y1, x0:x1]
                cands.append(Proposal(
                    name="", frame=int(t), box=(y0, x0, y1, x1),
                    uncertainty=float(dis[y0:y1, x0:x1].mean()),
                    n_predicted=int(np.unique(lab[lab > 0]).size),
                    image=np.asarray(data[t])[y0:y1, x0:x1], labels=lab,
                    disagreement=dis[y0:y1, x0:x1]))
                embs.append(crop_embedding(seg.net, norm[y0:y1, x0:x1], zoom=zoom))
    if not cands:
        raise InputError("no crop to propose: every frame is constant or already annotated")
    done = []                               # the annotated crops, as the model sees them
    for t in sorted({int(e[0]) for e in exclude if 0 <= int(e[0]) < n_frames}):
        norm = normalize_frame(frame(t))
        if norm is None:
            continue
        for e in exclude:
            if int(e[0]) == t and e[3] > e[1] and e[4] > e[2]:
                done.append(crop_embedding(seg.net, norm[e[1]:e[3], e[2]:e[4]], zoom=zoom))
    picked = select_typical([c.uncertainty for c in cands], np.stack(embs), n,
                            annotated=np.stack(done) if done else None)
    out = []
    for rank, i in enumerate(picked):
        c = cands[i]
        c.rank, c.name = rank, f"crop_{rank:03d}_t{c.frame:03d}_y{c.box[0]}_x{c.box[1]}"
        c.labels = _relabel(c.labels)
        out.append(c)
    info = {"model": str(seg.name), "diameter": None if diameter is None else
            float(diameter), "zoom": zoom, "frames": [int(t) for t in frames],
            "candidates": len(cands), "crop": int(crop), "n_aug": int(n_aug),
            "dark_objects": bool(dark_objects), "annotated_before": len(done),
            "selection": "typicality (cold start)" if not done else
            "uncertainty x density, one per uncovered cluster"}
    return out, info


def _relabel(labels: np.ndarray) -> np.ndarray:
    ids = np.unique(labels[labels > 0])
    lut = np.zeros(int(labels.max()) + 1 if labels.size else 1, dtype=np.int32)
    lut[ids] = np.arange(1, ids.size + 1)
    return lut[labels]


def write_proposals(folder: str | Path, proposals: Sequence[Proposal],
                    info: dict[str, Any], *, source: str = "",
                    overwrite: bool = False) -> Path:
    """Write the proposals (images, starting labels, disagreement maps, manifest) to
    `folder`, atomically; see the module docstring for the layout."""
    import tifffile

    from ._atomic import atomic_path

    folder = Path(folder)
    if folder.exists() and not overwrite:
        raise InputError(f"{folder} already exists; choose another -o folder or pass "
                         "--overwrite")
    with atomic_path(folder, overwrite=overwrite) as tmp:
        for sub in ("images", "labels", "uncertainty"):
            (tmp / sub).mkdir(parents=True)
        for p in proposals:
            tifffile.imwrite(tmp / "images" / f"{p.name}.tif", p.image)
            tifffile.imwrite(tmp / "labels" / f"{p.name}.tif",
                             p.labels.astype(np.uint16), compression="zlib")
            tifffile.imwrite(tmp / "uncertainty" / f"{p.name}.tif",
                             p.disagreement.astype(np.float32))
        # each starting label crop's content hash: train segment --continue can then
        # tell crops the annotator corrected from crops left as proposed
        records = [{**p.record(), "proposed_sha256": _labels_hash(p.labels)}
                   for p in proposals]
        (tmp / MANIFEST).write_text(json.dumps(
            {"source": source, **info, "proposals": records,
             "how": "correct labels/NAME.tif (napari: open images/NAME.tif, then "
                    "labels/NAME.tif as a Labels layer; save over it), then run "
                    "celldyn train segment --continue THIS_FOLDER"}, indent=2))
        with open(tmp / "manifest.csv", "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["name", "rank", "frame", "y0", "x0", "y1", "x1", "uncertainty",
                        "n_predicted"])
            for p in proposals:
                w.writerow([p.name, p.rank, p.frame, *p.box, f"{p.uncertainty:.6g}",
                            p.n_predicted])
    return folder


def _labels_hash(labels: Any) -> str:
    """sha256 of a label crop's content (uint16, C order): the same after napari saves
    the crop again unchanged, different after any edit."""
    import hashlib

    return hashlib.sha256(np.ascontiguousarray(labels, dtype=np.uint16).tobytes()
                          ).hexdigest()


def read_annotations(folders: Sequence[str | Path]) -> tuple[list[tuple[str, Any, Any]],
                                                             dict[str, Any]]:
    """The corrected crops of one or more :func:`write_proposals` folders:
    ``(name, image, labels)`` triples, and the first folder's manifest. Crops of a
    movie with dark objects come back inverted, as the model saw them. Warns when no
    crop was edited since it was proposed (its content hash in the manifest).

    Raises
    ------
    InputError
        A folder without manifest.json, a missing file, or a label crop whose shape
        differs from its image.
    """
    import tifffile

    out: list[tuple[str, Any, Any]] = []
    first: dict[str, Any] | None = None
    checked = unchanged = 0   # crops with a recorded proposal, and those left as proposed
    for folder in folders:
        folder = Path(folder)
        try:
            manifest = json.loads((folder / MANIFEST).read_text())
        except (OSError, ValueError):
            raise InputError(f"{folder} has no readable {MANIFEST}; pass a folder written "
                             "by celldyn annotate-next") from None
        first = first or manifest
        for rec in manifest.get("proposals", []):
            name = rec["name"]
            try:
                img = tifffile.imread(folder / "images" / f"{name}.tif")
                lab = tifffile.imread(folder / "labels" / f"{name}.tif")
            except OSError as err:
                raise InputError(f"{folder}: cannot read crop {name} ({err})") from None
            if img.shape != lab.shape:
                raise InputError(f"{folder}/labels/{name}.tif has shape {lab.shape} but its "
                                 f"image has {img.shape}; keep the crop's size")
            if not np.issubdtype(lab.dtype, np.integer):
                raise InputError(f"{folder}/labels/{name}.tif must hold integer labels; got "
                                 f"{lab.dtype}")
            if manifest.get("dark_objects"):   # the model saw them inverted
                img = float(np.max(img)) - np.asarray(img, dtype=np.float32)
            out.append((f"{folder.name}:{name}", img, lab.astype(np.int32)))
            if rec.get("proposed_sha256"):
                checked += 1
                unchanged += rec["proposed_sha256"] == _labels_hash(lab)
    if not out:
        raise InputError("no annotated crops found in " + ", ".join(map(str, folders)))
    if checked and unchanged == checked:
        import warnings

        warnings.warn(
            f"none of the {checked} label crops was edited since annotate-next proposed "
            "it: fine-tuning on the model's own predictions repeats its mistakes; correct "
            "labels/NAME.tif first (napari: open images/NAME.tif, then labels/NAME.tif as "
            "Labels, fix, save over it)", stacklevel=2)
    return out, first or {}


def write_corrected_labels(folder: str | Path, labels: dict[str, Any]) -> list[Path]:
    """Save corrected label crops over ``folder/labels/NAME.tif`` (``{NAME: labels}``;
    each keeps its crop's shape), as an annotator's editor would."""
    import tifffile

    folder = Path(folder)
    written = []
    for name, lab in labels.items():
        path = folder / "labels" / f"{name}.tif"
        if not path.exists():
            raise InputError(f"{folder} has no crop {name!r} (labels/{name}.tif)")
        lab = np.asarray(lab)
        old = tifffile.imread(path)
        if lab.shape != old.shape:
            raise InputError(f"labels of crop {name} have shape {lab.shape}, not the "
                             f"crop's {old.shape}; keep the crop's size")
        if lab.size and (lab.min() < 0 or lab.max() > np.iinfo(np.uint16).max):
            raise InputError(f"labels of crop {name} must be 0..65535")
        tifffile.imwrite(path, lab.astype(np.uint16), compression="zlib")
        written.append(path)
    return written


def fine_tune(folders: Sequence[str | Path], out: str | Path | None = None, *,
              model: Any = None, epochs: int = 10, iters: int = 50, batch: int = 8,
              crop: int = 96, seed: int = 0, progress: bool = False,
              on_epoch: Any = None) -> Path:
    """Fine-tune the model that proposed the crops on their corrections (every
    :func:`write_proposals` folder in `folders`: all rounds so far), as ``celldyn train
    segment --continue`` does, with its defaults (500 iterations). Returns the new model
    folder (default: the last folder's ``model``); `model` overrides the manifest's model.

    The defaults were 1 x 10 iterations (batch 4, 64 px) until 2026-12-05, when the
    segmentation benchmark showed how much the length matters on data the model never
    saw (benchmarks/RESULTS.md, leave-one-set-out fine-tuned rows; AP@0.5 on test parts,
    so this alignment with the CLI is not blind): 60 -> 500 iterations on 5 annotated
    images raised 4 of 6 comparisons (E. coli colony 0.546 -> 0.724 and 0.165 -> 0.599,
    DIC 0.208 -> 0.371, HeLa 0.926 -> 1.000) and lowered 2 (PSC from its one image 0.627
    -> 0.496, DSB2018 0.602 -> 0.547); on data the shipped model already knows it can
    lose (GOWT1-02, 5 images of one nucleus each: 0.893 -> 0.732). About 9 minutes on
    one CPU thread.
    """
    from .segment.deep.finetune import train_on_pairs

    if not folders:
        raise InputError("no annotation folder to train on: annotate next first")
    pairs, manifest = read_annotations(folders)
    init = model or manifest.get("model")
    out = Path(out) if out is not None else Path(folders[-1]) / "model"
    last = Path(folders[-1])
    done = train_on_pairs(pairs, out, init=init, epochs=epochs, iters=iters, batch=batch,
                          crop=crop, seed=seed, progress=progress, on_epoch=on_epoch,
                          images=str(last), masks=str(last),
                          command="celldyn.active.fine_tune(" + ", ".join(
                              repr(str(f)) for f in folders) + f", epochs={epochs}, "
                          f"iters={iters}, batch={batch}, crop={crop}, seed={seed})")
    return done.folder

"""Which pipeline suits my data: every pipeline scored on the user's own annotations.

:func:`bench` runs each available segmenter (every classical method, every shipped deep
model, the user's own models, and notes which one the automatic choice of
:mod:`celldyn.segment.auto` takes) on the *annotated* frames of a movie, and each
tracker on the full movie for the best segmenters; it scores them with the Cell
Tracking Challenge measures of :mod:`celldyn.evaluate` (SEG, DET, TRA, LNK, BC(1),
division F1) and AP@0.5, and ranks them.

What is ours: the choice of combinations, partial ground truth, the ranking and its
ties. Segmentation is scored on the frames with a SEG mask (or, with markers only, on
up to ``max_frames`` TRA frames by DET); tracking on the frames the TRA markers cover.

Ties. A score from a few frames is uncertain, so the ranking does not pretend to a
winner it cannot show: the frames (for segmentation) or blocks of consecutive frames
(for tracking: AOGM counted per block, links across blocks left out) are resampled
with replacement ``n_boot`` times (seeded), the paired difference of each pipeline
with the leader of its group is recomputed each time, and a pipeline whose 95 %
interval of that difference contains 0 is tied with the leader (rank ``1=``). Among
tied leaders the fastest (seconds per frame) becomes ``best_config.json``; where several
are about as fast (within :data:`SAME_SPEED`), the one closest to ``celldyn run``'s
defaults (the automatic segmenter choice, the LAP tracker).

Partial ground truth, stated in :attr:`BenchResult.notes`: SEG masks for some frames
only (the usual CTC case), SEG masks annotating some objects only (detected where a TRA
marker of that frame overlaps no SEG object: AP@0.5 then ignores predictions that
overlap no annotated object, the CTC SEG convention), TRA markers for the first frames
only (tracking scored on those), markers without SEG (SEG and AP@0.5 not scored), SEG
without TRA (tracking not scored). Ground truth that cannot describe the movie (another
frame size, more frames than the movie, frames missing inside TRA) is an
:class:`~celldyn.errors.InputError` or :class:`~celldyn.errors.FileFormatError`, one line.
"""

from __future__ import annotations

import importlib.util
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .config import RunConfig
from .errors import CelldynError, InputError
from .movie import Movie

__all__ = ["BenchResult", "GroundTruth", "Row", "bench", "ground_truth_plane",
           "read_ground_truth"]

SHIPPED_MODELS = ("nuclei2d", "generalist2d")
CLASSICAL = ("watershed", "threshold", "edges", "spots")
QUICK_CLASSICAL = ("watershed", "threshold")


@dataclass
class GroundTruth:
    """Ground truth of one movie, as far as it goes.

    ``tra`` and ``table`` (markers and track table) may be None (SEG only); ``seg`` maps
    frame -> mask and may be empty (markers only); ``notes`` says what is partial.
    """

    tra: np.ndarray | None
    table: pd.DataFrame | None
    seg: dict[int, np.ndarray]
    notes: list[str] = field(default_factory=list)
    partial_seg: set[int] = field(default_factory=set)


def read_ground_truth(folder: str | Path) -> GroundTruth:
    """Read the ground truth of a movie: a CTC folder with TRA/ and/or SEG/ (either may
    be absent), or segmentation only (:func:`_label_truth`): a label movie (TIFF or
    OME-Zarr, e.g. napari's Labels layer saved) or a folder of label images, one per
    annotated frame, numbered by frame (``mask_005.png``: frame 5)."""
    from .errors import FileFormatError
    from .io import read_ctc_gt
    from .io.ctc import list_frames, read_label_frames

    p = Path(folder)
    if not p.exists():
        raise InputError(f"ground truth {p} does not exist; pass a CTC NN_GT folder with "
                         "TRA/ and/or SEG/, a label movie, or a folder of label images")
    if p.is_file() or (p.suffix.lower() == ".zarr") or not (
            (p / "TRA").is_dir() or (p / "SEG").is_dir()):
        return _label_truth(p)
    if (p / "TRA").is_dir():
        tra, table, seg = read_ctc_gt(p)
        return GroundTruth(tra, table, dict(seg))
    if (p / "SEG").is_dir() and list_frames(p / "SEG", "man_seg"):
        return GroundTruth(None, None, dict(read_label_frames(p / "SEG", "man_seg")))
    raise FileFormatError(f"{p} has neither TRA/ nor SEG/ with man_seg*.tif; expected a CTC "
                          "ground-truth folder (NN_GT)")


def _label_truth(p: Path) -> GroundTruth:
    """Segmentation ground truth from a label movie (a frame with no object is taken as
    not annotated) or from a folder of label images whose names differ in one number,
    the frame index from 0 (sparse frames allowed). No tracking ground truth: that needs
    the lineage of a CTC TRA/ folder (man_track.txt)."""
    from .errors import FileFormatError
    from .io import read_labels
    from .io.frames import frame_files, read_numbered_labels

    if p.is_dir() and p.suffix.lower() != ".zarr":
        try:
            frame_files(p)   # a folder of no image: said as a ground-truth folder
        except FileFormatError:
            raise FileFormatError(
                f"{p} has neither TRA/ nor SEG/ with man_seg*.tif nor label images; pass a "
                "CTC ground-truth folder (NN_GT), a label movie or a folder of label "
                "images named by frame") from None
        seg = read_numbered_labels(p)
        what = f"the {len(seg)} label image(s) in {p.name}, frames by their numbers"
    else:
        labels = read_labels(p)
        seg = {t: np.asarray(labels[t]) for t in range(labels.shape[0])
               if np.asarray(labels[t]).any()}
        what = (f"the label movie {p.name}: its {len(seg)} of {labels.shape[0]} frames "
                "with objects (a frame with none is taken as not annotated)")
    if not seg or not any(m.any() for m in seg.values()):
        raise InputError(f"the ground truth in {p} holds no object")
    return GroundTruth(None, None, seg, [
        f"segmentation ground truth from {what}; no tracking ground truth (that needs a CTC "
        "TRA/ folder with man_track.txt), so pipelines are ranked on segmentation"])


def ground_truth_plane(gt: GroundTruth, index: int) -> GroundTruth:
    """The ground truth of z-plane `index` of a z-stack, for a movie seen as 2D
    (``--plane``): TRA markers ``(T, Z, Y, X)`` and SEG masks ``(Z, Y, X)`` are cut to
    that plane; ground truth already drawn on the plane (``(T, Y, X)``, ``(Y, X)``) is
    kept as it is.

    The track table is rebuilt from the markers left in the plane: a track keeps the
    frames where its marker meets the plane; one absent from it is dropped and her
    daughters hang from her nearest kept ancestor; a track that leaves the plane and
    comes back continues as a new track whose parent is her part before the gap (the
    CTC way of writing a gap). Say so in the notes.
    """
    tra, table, notes = gt.tra, gt.table, list(gt.notes)
    stacks = [np.shape(m)[0] for m in gt.seg.values() if np.ndim(m) == 3]
    if tra is not None and tra.ndim == 4:
        stacks.append(tra.shape[1])
    if any(index >= n for n in stacks):
        raise InputError(f"the ground truth is drawn on {min(stacks)} z-planes, so it has "
                         f"no plane {index}; pass ground truth of this stack, or drawn on "
                         "the plane itself")
    if tra is not None and tra.ndim == 4:
        n_before = int(table["label"].nunique())
        tra, table = _ctc_plane(tra[:, index], table)
        notes.append(f"TRA markers cut to z-plane {index}: {int(table['label'].nunique())} "
                     f"track part(s) from {n_before} tracks of the stack meet it (a track "
                     "that leaves the plane and returns continues as a new track)")
    seg = {t: (np.asarray(m)[index] if np.ndim(m) == 3 else np.asarray(m))
           for t, m in gt.seg.items()}
    if any(np.ndim(m) == 3 for m in gt.seg.values()):
        notes.append(f"SEG masks cut to z-plane {index}")
    return GroundTruth(tra, table, seg, notes, set(gt.partial_seg))


def ground_truth_frames(gt: GroundTruth, frames: str) -> GroundTruth:
    """The ground truth of the frames a run kept (``--frames START:STOP[:STEP]``),
    renumbered from 0 as the run's results are. TRA markers and their table are cut to
    those frames (:func:`celldyn.training.crop_ctc`: links that leave them are dropped)
    and, with a STEP, subsampled (:func:`celldyn.track.graph.subsample_ctc`: a track's
    daughters hang from its last kept frame); SEG masks of kept frames keep theirs."""
    from .movie import frame_range
    from .track.graph import subsample_ctc
    from .training import crop_ctc

    n = (int(gt.tra.shape[0]) if gt.tra is not None
         else max(gt.seg, default=-1) + 1)
    kept = frame_range(frames, n)
    if not len(kept):
        raise InputError(f"the run kept frames {frames}, none of which the ground truth "
                         f"has (frames 0..{n - 1}); pass the ground truth of this movie")
    tra, table = gt.tra, gt.table
    if tra is not None:
        tra, table = crop_ctc(tra, table, kept.start, kept[-1])
        if kept.step > 1:
            tra, table = subsample_ctc(tra, table, kept.step)
    seg = {kept.index(t): m for t, m in gt.seg.items() if t in kept}
    partial = {kept.index(t) for t in gt.partial_seg if t in kept}
    return GroundTruth(tra, table, seg, [*gt.notes, f"cut to the run's frames {frames}"],
                       partial)


def _ctc_plane(labels: np.ndarray, table: pd.DataFrame) -> tuple[np.ndarray, pd.DataFrame]:
    """CTC markers of one plane ``(T, Y, X)`` and the track table rebuilt for them (see
    :func:`ground_truth_plane`)."""
    labels = np.array(labels, copy=True)
    frames: dict[int, list[int]] = {}
    for t in range(labels.shape[0]):
        for lab in np.unique(labels[t]):
            if lab:
                frames.setdefault(int(lab), []).append(t)
    parent_of = {int(r.label): int(r.parent) for r in table.itertuples(index=False)}
    last_part: dict[int, tuple[int, int]] = {}   # track -> (label of her last part, end)
    next_label = max(int(labels.max()), max(parent_of, default=0)) + 1
    rows = []
    for r in table.sort_values(["begin", "label"]).itertuples(index=False):
        lab = int(r.label)
        ts = frames.get(lab)
        if not ts:
            continue
        p = parent_of.get(lab, 0)
        while p and p not in last_part:
            p = parent_of.get(p, 0)
        parent = last_part[p][0] if p and last_part[p][1] < ts[0] else 0
        runs = np.split(np.asarray(ts), np.flatnonzero(np.diff(ts) > 1) + 1)
        part_label = lab
        for i, run in enumerate(runs):
            if i:
                part_label, parent = next_label, part_label
                next_label += 1
                for t in run:
                    labels[t][labels[t] == lab] = part_label
            rows.append([part_label, int(run[0]), int(run[-1]), parent])
        last_part[lab] = (part_label, int(runs[-1][-1]))
    keep = np.isin(labels, [r[0] for r in rows])
    labels = np.where(keep, labels, 0).astype(labels.dtype)
    out = pd.DataFrame(sorted(rows), columns=["label", "begin", "end", "parent"])
    return labels, out.astype(np.int64)


def check_ground_truth(gt: GroundTruth, movie_shape: tuple[int, ...]) -> GroundTruth:
    """Check `gt` against the movie's ``(T, [Z,] Y, X)`` shape; add notes on what is
    partial. Raises :class:`InputError` (one line) where it cannot describe the movie."""
    n, frame = movie_shape[0], tuple(movie_shape[1:])
    notes = list(gt.notes)
    tra, table = gt.tra, gt.table
    if tra is not None:
        if tuple(tra.shape[1:]) != frame:
            raise InputError(
                f"the ground-truth TRA masks are {'x'.join(map(str, tra.shape[1:]))} px but "
                f"the movie frames are {'x'.join(map(str, frame))} px; the ground truth must "
                "annotate this movie at its own size (not a crop or a resized copy)")
        if tra.shape[0] > n:
            raise InputError(f"the ground truth has {tra.shape[0]} TRA frames but the movie "
                             f"only {n}; pass the ground truth of this movie")
        if tra.shape[0] < n:
            notes.append(f"TRA markers cover frames 0..{tra.shape[0] - 1} of {n}: tracking "
                         "is scored on those frames only")
    for t, mask in gt.seg.items():
        if not 0 <= t < n:
            raise InputError(f"SEG mask man_seg{t:03d} is for frame {t} but the movie has "
                             f"frames 0..{n - 1}; pass the ground truth of this movie")
        if tuple(np.shape(mask)) != frame:
            raise InputError(
                f"SEG mask of frame {t} is {'x'.join(map(str, np.shape(mask)))} px but the "
                f"movie frames are {'x'.join(map(str, frame))} px; the ground truth must "
                "annotate this movie at its own size (not a crop or a resized copy)")
    partial: set[int] = set()
    if gt.seg and tra is not None:
        for t, mask in gt.seg.items():
            if t < tra.shape[0]:
                markers = np.unique(tra[t][tra[t] > 0])
                hit = np.unique(tra[t][(tra[t] > 0) & (mask > 0)])
                if markers.size > hit.size:
                    partial.add(t)
    if gt.seg:
        objs = sum(int(np.unique(m[m > 0]).size) for m in gt.seg.values())
        notes.append(f"SEG masks for {len(gt.seg)} of {n} frames ({objs} objects): "
                     "segmentation scored on those frames")
        if partial:
            notes.append(f"SEG annotates only some objects in {len(partial)} frame(s) "
                         f"({', '.join(map(str, sorted(partial)[:8]))}"
                         f"{' ...' if len(partial) > 8 else ''}): AP@0.5 ignores "
                         "predictions overlapping no annotated object there")
    elif tra is not None:
        notes.append("no SEG masks (markers only): SEG and AP@0.5 are not scored; "
                     "segmenters are ranked by DET on the TRA markers")
    if tra is None:
        notes.append("no TRA markers (SEG only): DET, TRA, LNK, BC(1) and division F1 are "
                     "not scored; the configuration keeps the default tracker")
    return GroundTruth(tra, table, gt.seg, notes, partial)


@dataclass
class Row:
    """One pipeline and its scores (NaN where not scored)."""

    name: str
    config: dict[str, Any]
    tracker: str | None
    scores: dict[str, float]
    seconds_per_frame: float
    rank: str = ""
    primary: str = ""
    auto: bool = False


@dataclass
class BenchResult:
    """Rows ranked (tracked pipelines first, by TRA; then segmenters, by SEG or DET),
    the winner's :class:`RunConfig`, notes on partial ground truth and ties."""

    pipelines: list[Row]
    segmenters: list[Row]
    best: Row
    best_config: RunConfig
    notes: list[str]

    def table(self) -> pd.DataFrame:
        rows = []
        for kind, group in (("pipeline", self.pipelines), ("segmentation", self.segmenters)):
            for r in group:
                rows.append({"rank": r.rank, "kind": kind, "segmenter": r.name,
                             "tracker": r.tracker or "-", **{k: r.scores.get(k, np.nan)
                                                            for k in SCORE_COLUMNS},
                             "s/frame": r.seconds_per_frame,
                             "auto": "auto" if r.auto else "", "primary": r.primary})
        return pd.DataFrame(rows)


SCORE_COLUMNS = ("SEG", "DET", "TRA", "LNK", "BC(1)", "div_F1", "AP@0.5")


# ------------------------------------------------------------------ frame statistics


def _ap_counts(gt: np.ndarray, pred: np.ndarray, partial: bool) -> tuple[int, int, int]:
    """(TP, FP, FN) at IoU >= 0.5 (one-to-one at that level), as
    :func:`celldyn.segment.deep.metrics.match_counts`, without needing torch."""
    g, gi = np.unique(np.where(gt > 0, gt, 0), return_inverse=True)
    p, pi = np.unique(pred, return_inverse=True)
    gi, pi = gi.ravel(), pi.ravel()
    ng, npred = g.size, p.size
    inter = np.bincount(gi * npred + pi, minlength=ng * npred).reshape(ng, npred)
    gz, pz = int(g[0] == 0), int(p[0] == 0)       # background row / column present
    area_g, area_p = inter.sum(axis=1), inter.sum(axis=0)
    inter = inter[gz:, pz:].astype(np.float64)
    union = area_g[gz:, None] + area_p[None, pz:] - inter
    iou = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
    tp = int(np.count_nonzero((iou >= 0.5).any(axis=0)))
    counted = inter.sum(axis=0) > 0 if partial else np.ones(iou.shape[1], dtype=bool)
    return tp, int(counted.sum()) - tp, iou.shape[0] - tp


def _frame_stats(gt: GroundTruth, t: int, labels: np.ndarray) -> dict[str, float]:
    """Additive per-frame quantities: SEG sum and count, AP counts, DET costs."""
    from .evaluate import aogm_counts, seg_score

    out: dict[str, float] = {}
    if t in gt.seg:
        mask = np.asarray(gt.seg[t])
        n = int(np.unique(mask[mask > 0]).size)
        s = seg_score({0: mask}, labels[None]) if n else 0.0
        out["seg_sum"], out["seg_n"] = s * n, n
        tp, fp, fn = _ap_counts(mask, labels, t in gt.partial_seg)
        out["ap_tp"], out["ap_all"] = tp, tp + fp + fn
    if gt.tra is not None and t < gt.tra.shape[0] and gt.tra[t].any():
        c = aogm_counts(gt.tra[t][None], None, labels[None], None)
        out["det_cost"], out["det_0"] = c.aogm_det, 10.0 * c.gt_vertices
    return out


def _seg_metrics(stats: np.ndarray, keys: list[str]) -> dict[str, float]:
    """SEG, AP@0.5, DET from summed per-frame statistics (rows: frames)."""
    s = dict(zip(keys, stats.sum(axis=0), strict=True))
    nan = float("nan")
    return {
        "SEG": s["seg_sum"] / s["seg_n"] if s.get("seg_n", 0) > 0 else nan,
        "AP@0.5": s["ap_tp"] / s["ap_all"] if s.get("ap_all", 0) > 0 else nan,
        "DET": 1 - min(s["det_cost"], s["det_0"]) / s["det_0"] if s.get("det_0", 0) > 0
        else nan,
    }


# -------------------------------------------------------------------- tracking blocks


def clip_table(table: pd.DataFrame, first: int, last: int) -> pd.DataFrame:
    """A CTC track table restricted to frames ``first..last`` and renumbered from 0
    (as the label movie ``labels[first:last + 1]``): tracks clipped, parent links kept
    only where both ends lie inside.

    Examples
    --------
    >>> t = pd.DataFrame([[1, 0, 4, 0], [2, 5, 9, 1]], columns=["label", "begin", "end", "parent"])
    >>> clip_table(t, 3, 6).values.tolist()
    [[1, 0, 1, 0], [2, 2, 3, 1]]
    >>> clip_table(t, 5, 9).values.tolist()
    [[2, 0, 4, 0]]
    """
    t = table[(table["begin"] <= last) & (table["end"] >= first)].copy()
    ends = dict(zip(table["label"], table["end"], strict=True))
    parent_end = t["parent"].map(lambda p: ends.get(p, -1))
    orphan = (t["begin"] < first) | (parent_end < first)
    t.loc[orphan, "parent"] = 0
    t["begin"] = t["begin"].clip(lower=first) - first
    t["end"] = t["end"].clip(upper=last) - first
    return t.reset_index(drop=True)


def _block_costs(gt: GroundTruth, labels: np.ndarray, res_table: pd.DataFrame,
                 blocks: list[tuple[int, int]]) -> np.ndarray:
    """(AOGM, AOGM_0) per block of frames."""
    from .evaluate import aogm_counts

    out = []
    for a, b in blocks:
        c = aogm_counts(gt.tra[a:b + 1], clip_table(gt.table, a, b), labels[a:b + 1],
                        clip_table(res_table, a, b))
        out.append((c.aogm, c.aogm_0))
    return np.asarray(out, dtype=np.float64)


def _blocks(n: int, k: int = 10) -> list[tuple[int, int]]:
    edges = np.linspace(0, n, min(k, n) + 1).round().astype(int)
    return [(int(a), int(b) - 1) for a, b in zip(edges[:-1], edges[1:], strict=True) if b > a]


# ------------------------------------------------------------------------ ranking


def _rank(rows: list[Row], samples: dict[str, np.ndarray], primary: str) -> list[Row]:
    """Sort by the primary score; tie groups by the paired bootstrap difference."""
    good = [r for r in rows if r.scores.get(primary) == r.scores.get(primary)]
    bad = [r for r in rows if r not in good]
    good.sort(key=lambda r: (-r.scores[primary], r.seconds_per_frame))
    groups: list[list[Row]] = []
    for r in good:
        if groups:
            lead = groups[-1][0]
            diff = samples[lead.name + "|" + str(lead.tracker)] - samples[
                r.name + "|" + str(r.tracker)]
            diff = diff[np.isfinite(diff)]
            if diff.size == 0 or np.quantile(diff, 0.025) <= 0:
                groups[-1].append(r)
                continue
        groups.append([r])
    for i, g in enumerate(groups):
        for r in g:
            r.rank, r.primary = f"{i + 1}{'=' if len(g) > 1 else ''}", primary
    for r in bad:
        r.rank, r.primary = "-", primary
    return good + bad


def _key(r: Row) -> str:
    return r.name + "|" + str(r.tracker)


# --------------------------------------------------------------------------- bench


def _candidates(movie: Movie, *, quick: bool, models: Sequence[str], deep: bool,
                notes: list[str]) -> list[tuple[str, dict[str, Any]]]:
    out: list[tuple[str, dict[str, Any]]] = [
        (m, {"segmenter": "classical", "method": m})
        for m in (QUICK_CLASSICAL if quick else CLASSICAL)]
    if not deep:
        return out
    if importlib.util.find_spec("torch") is None:
        notes.append("torch is not installed: deep models skipped (pip install "
                     "'celldyn[deep]')")
        return out
    if movie.n_spatial != 2:
        notes.append("the movie is 3D: the shipped deep models are 2D and are skipped")
        deep = [m for m in models if m not in SHIPPED_MODELS]
    else:
        deep = list(dict.fromkeys([*SHIPPED_MODELS, *models]))
    out += [(f"deep {Path(m).name if m not in SHIPPED_MODELS else m}",
             {"segmenter": "deep", "model": str(m)}) for m in deep]
    return out


def bench(
    movie: Movie,
    gt: GroundTruth,
    *,
    dark_objects: bool = False,
    quick: bool = False,
    models: Sequence[str] = (),
    deep: bool = True,
    trackers: Sequence[str] | None = None,
    n_tracked: int | None = None,
    max_frames: int = 20,
    n_boot: int = 1000,
    seed: int = 0,
    progress: bool | type = False,
) -> BenchResult:
    """Score every pipeline on the annotated frames of `movie` and rank them.

    Parameters
    ----------
    movie : Movie
        Single-channel movie, axes ``TYX`` or ``TZYX``.
    gt : GroundTruth
        From :func:`read_ground_truth` (TRA and/or SEG).
    dark_objects : bool
        Objects darker than the background (phase contrast), as ``celldyn run``.
    quick : bool
        Watershed and threshold only among the classical methods, and only the best
        segmenter is tracked.
    models : sequence of str
        Extra deep models (folders from ``celldyn train segment``), besides the shipped
        ones.
    deep : bool
        Score the deep models (False: classical methods only).
    trackers : sequence of str, optional
        Default: lap, global, and learned when torch is installed.
    n_tracked : int, optional
        How many of the best segmenters are tracked on the full movie (default 1 with
        `quick`, else 2).
    max_frames : int
        At most this many annotated frames are segmented for the segmentation scores
        (evenly spread).
    n_boot : int
        Bootstrap resamples for the tie intervals.
    seed : int
        Seed of the bootstrap (and of every run), for a reproducible ranking.

    Returns
    -------
    BenchResult
    """
    from .pipeline import run
    from .scale.plan import repair_merges
    from .segment import segment_movie
    from .segment.api import frame_function
    from .track import TRACKERS

    if "C" in movie.axes:
        raise InputError(f"bench needs a single-channel movie; got axes {movie.axes!r} "
                         "(pass --channel)")
    gt = check_ground_truth(gt, tuple(movie.data.shape))
    notes = list(gt.notes)
    n = movie.n_frames
    if gt.seg:
        frames = sorted(gt.seg)
    else:
        frames = sorted(set(np.linspace(0, gt.tra.shape[0] - 1, min(10, gt.tra.shape[0]))
                            .round().astype(int).tolist()))
    if len(frames) > max_frames:
        keep = np.linspace(0, len(frames) - 1, max_frames).round().astype(int)
        frames = [frames[i] for i in sorted(set(keep.tolist()))]
        notes.append(f"segmentation scored on {len(frames)} evenly spread annotated frames "
                     f"(--max-frames {max_frames})")
    primary_seg = "SEG" if gt.seg else "DET"
    if len(frames) < 3:
        notes.append(f"only {len(frames)} annotated frame(s): the tie intervals cannot "
                     "measure the spread across frames; read the segmentation ranking as "
                     "indicative")
    rng = np.random.default_rng(seed)
    boot_frames = rng.integers(0, len(frames), size=(n_boot, len(frames)))
    cands = _candidates(movie, quick=quick, models=models, deep=deep, notes=notes)

    seg_rows: list[Row] = []
    samples: dict[str, np.ndarray] = {}
    bar: Any = None
    if progress:
        from tqdm.auto import tqdm
        bar = (tqdm if progress is True else progress)(
            total=len(cands) * len(frames), desc="bench: segment annotated frames",
            unit="frame")
    for name, spec in cands:
        func = frame_function(movie, segmenter=spec["segmenter"],
                              method=spec.get("method", "watershed"),
                              model=spec.get("model"),
                              dark_objects=dark_objects)  # deep: the scale probe, once
        t0 = time.perf_counter()
        stats = []
        for t in frames:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                labels = np.asarray(func(np.asarray(movie.data[t])))
            stats.append(_frame_stats(gt, t, labels))
            if bar is not None:
                bar.update(1)
        secs = (time.perf_counter() - t0) / len(frames)
        keys = sorted({k for s in stats for k in s})
        arr = np.array([[s.get(k, 0.0) for k in keys] for s in stats], dtype=np.float64)
        scores = _seg_metrics(arr, keys)
        samples[f"{name}|None"] = np.array(
            [_seg_metrics(arr[b], keys)[primary_seg] for b in boot_frames])
        seg_rows.append(Row(name, spec, None, scores, secs))
    if bar is not None:
        bar.close()
    seg_rows = _rank(seg_rows, samples, primary_seg)
    _mark_auto(movie, frames, seg_rows, dark_objects, notes)

    pipe_rows: list[Row] = []
    if gt.tra is not None:
        if trackers is None:
            trackers = [t for t in TRACKERS
                        if t != "learned" or importlib.util.find_spec("torch") is not None]
        k = n_tracked if n_tracked is not None else (1 if quick else 2)
        ranked = [r for r in seg_rows if r.rank != "-"][:max(1, k)]
        n_gt = gt.tra.shape[0]
        blocks = _blocks(n_gt)
        boot_blocks = rng.integers(0, len(blocks), size=(n_boot, len(blocks)))
        for r in ranked:
            t0 = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                labels = segment_movie(movie, segmenter=r.config["segmenter"],
                                       method=r.config.get("method", "watershed"),
                                       model=r.config.get("model"),
                                       dark_objects=dark_objects, progress=progress)
            # the temporal repairs `celldyn run` applies to its own segmentation (a
            # blob of two merged cells split; sisters drawn joined split), in memory:
            # `run` never repairs labels it is given, so without them a row would
            # score a pipeline other than the one best_config.json then runs
            labels, _, repaired = repair_merges(np.asarray(labels), None, None,
                                                on=RunConfig().split_merged)
            if repaired and not any(n.startswith("temporal repairs") for n in notes):
                notes.append("temporal repairs applied to each segmentation before "
                             "tracking, as `celldyn run` applies them")
            seg_secs = time.perf_counter() - t0
            for tracker in trackers:
                t1 = time.perf_counter()
                # the labels are our own segmentation, passed in to segment once:
                # short daughter branches are undone and links priced as `celldyn run`
                # undoes and prices them
                config = RunConfig(dark_objects=dark_objects, tracker=tracker, seed=seed,
                                   min_daughter_frames=RunConfig().daughter_frames(),
                                   **r.config)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    result = run(movie, config=config, labels=labels, own_labels=True)
                secs = (seg_secs + time.perf_counter() - t1) / n
                from .evaluate import tracking_scores

                res_labels = np.asarray(result.labels)[:n_gt]
                res_table = clip_table(result.tracks, 0, n_gt - 1)
                s = tracking_scores(gt.tra, gt.table, res_labels, res_table)
                scores = {**r.scores, "DET": s["DET"], "TRA": s["TRA"], "LNK": s["LNK"],
                          "BC(1)": s.get("BC(1)", np.nan), "div_F1": s["div_F1"]}
                costs = _block_costs(gt, res_labels, res_table, blocks)
                tot = costs[boot_blocks].sum(axis=1)
                row = Row(r.name, r.config, tracker, scores, secs, auto=r.auto)
                samples[_key(row)] = 1 - np.minimum(tot[:, 0], tot[:, 1]) / np.maximum(
                    tot[:, 1], 1e-12)
                pipe_rows.append(row)
        pipe_rows = _rank(pipe_rows, samples, "TRA")
        notes.append(f"tracking: the {len(ranked)} best segmenter(s) x trackers "
                     f"{', '.join(trackers)} on {n_gt} frames")
    leaders = [r for r in (pipe_rows or seg_rows) if r.rank.rstrip("=") == "1"]
    if not leaders:
        raise InputError("no pipeline could be scored against this ground truth")
    best = _pick(leaders)
    if len(leaders) > 1:
        notes.append("tie: " + ", ".join(f"{r.name}" + (f" + {r.tracker}" if r.tracker
                                                          else "") for r in leaders)
                     + f" are within the bootstrap interval of each other on "
                     f"{best.primary}; best_config.json takes the fastest, or among "
                     f"those within {SAME_SPEED:g}x of its time, the one closest to "
                     "celldyn run's defaults (the automatic segmenter, the LAP tracker)")
    best_config = RunConfig(dark_objects=dark_objects, tracker=best.tracker or "lap",
                            seed=seed, **best.config)
    return BenchResult(pipe_rows, seg_rows, best, best_config, notes)


SAME_SPEED = 1.25
"""Tied leaders whose seconds per frame are within this factor of the fastest's are
equally fast (timings of a few frames vary that much between runs)."""


def _pick(leaders: list[Row]) -> Row:
    """The tied leader best_config.json takes: the fastest; where others are as fast
    (within :data:`SAME_SPEED`), the one closest to ``celldyn run``'s defaults, which
    were chosen on many sets (a tie on one movie shows no difference to choose by)."""
    fastest = min(leaders, key=lambda r: r.seconds_per_frame)
    alike = [r for r in leaders
             if r.seconds_per_frame <= SAME_SPEED * fastest.seconds_per_frame]
    return min(alike, key=lambda r: (not r.auto, (r.tracker or "lap") != "lap",
                                     r.seconds_per_frame))


def _mark_auto(movie: Movie, frames: list[int], rows: list[Row], dark_objects: bool,
               notes: list[str]) -> None:
    """Flag the row that ``segment.auto`` would choose on the annotated frames."""
    from .segment.api import segment_movie_auto

    data = np.stack([np.asarray(movie.data[t]) for t in frames])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _, choice = segment_movie_auto(data, dark_objects=dark_objects)
    except CelldynError as err:  # the flag is a courtesy, not a score
        notes.append(f"automatic choice not evaluated ({err})")
        return
    name = "watershed" if choice.segmenter == "classical" else f"deep {choice.model}"
    for r in rows:
        if r.name == name:
            r.auto = True
    notes.append(f"automatic choice (segment.auto): {name}; {choice.reason}")

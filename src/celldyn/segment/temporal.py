"""Temporal repair of the segmentation: split a blob that is two cells merged for a while
(:func:`split_merged`), and sisters drawn joined until they part
(:func:`split_joined_sisters`).

A frame-by-frame segmenter sometimes draws two touching cells as one object for a few
frames and then separates them again. The tracker then sees one cell "absorb" a
neighbour (that neighbour's track ends) and later "divide" into two: a false division,
with the right size evidence (the daughters add up to the blob) and the right geometry
(the blob's centroid is the sisters' midpoint). On the training frames of
PhC-C2DL-PSC-01, with celldyn's own segmentation, 106 of the 134 false divisions had a
mother that covered two ground-truth cells (benchmarks/RESULTS.md, "Segmentation:
temporal repair").

:func:`split_merged` walks the movie forward. An object of frame ``t`` is split when

* it **absorbs** two or more objects of the (already repaired) frame ``t - 1``: each
  has at least ``frac`` of its pixels inside it, and it is at least ``size_ratio`` times
  their summed size (a merged pair, not one cell that moved across two neighbours);
* those objects were **separate one frame earlier** too: their largest overlaps in frame
  ``t - 2`` are distinct objects (a nucleus cut in two for one frame, then whole again,
  is not split back into its fragments);
* the blob, followed forward by its largest overlap, **separates again** within
  ``max_run`` frames: some later frame has two or more objects each lying ``frac``
  inside it. A merge that never ends is left as the segmenter drew it.

The split is a watershed on the blob's distance transform (scikit-image), seeded with
the parts of the previous frame's objects that lie inside it; later frames of the same
merge are split in turn, since each looks back at a repaired frame. It only ever cuts
an object in two or more; it never joins, moves or deletes pixels. Frames are read one
at a time, so a label movie on disk (the run's frame cache, a zarr store) is repaired
with a few frames in memory.

**Objects that moved.** Both rules compare an object with the pieces of the
neighbouring frame that lie inside it. In a growing colony cells are pushed several
pixels a frame, and sisters a frame after the segmenter joined them may lie only half
inside the joined object (E. coli colony, training frames: 0.51 and 0.52 of two
daughters, 0.41 of another), so a late division stayed late. With ``moved`` (the
default since 2026-12-07) an object that no piece lies ``frac`` inside is tried once
more with every pair of the pieces that touch it (at least a tenth of a piece inside;
up to six pieces): the pair is moved as one, so that its joint centroid sits on the
object's, by at most the object's equivalent radius, and both pieces must then lie
``frac`` inside, with the same size and onward gates as before; the cut is seeded with
the moved pieces. Chosen on the tracking split's training frames of five sets, own
segmentation, every 1st / 2nd / 4th frame (benchmarks/temporal_moved.py, RESULTS.md
"Segmentation: temporal repairs of objects that moved").

Hand-written (our contribution): the rule and its gates are ours; the watershed and the
distance transform are scikit-image's and SciPy's.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
from scipy import ndimage as ndi
from skimage.segmentation import watershed

__all__ = ["joined_sister_splits", "merged_splits", "split_joined_sisters", "split_merged"]

FRAC = 0.6        # share of an object's pixels inside the blob that absorbs it
SIZE_RATIO = 0.75  # the blob is at least this share of the absorbed objects' summed size
MAX_RUN = 10      # frames within which the blob must separate again
MOVED = True      # also compare objects moved onto the blob (module docstring)


def _overlaps(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(label in a, label in b, pixels in common) for every overlapping pair."""
    both = (a > 0) & (b > 0)
    if not both.any():
        e = np.zeros(0, np.int64)
        return e, e, e
    m = int(b.max()) + 1
    codes, counts = np.unique(a[both].astype(np.int64) * m + b[both], return_counts=True)
    return codes // m, codes % m, counts


def _areas(frame: np.ndarray) -> np.ndarray:
    return np.bincount(frame.ravel().astype(np.int64))


def _largest_overlap(a: np.ndarray, b: np.ndarray) -> dict[int, int]:
    """For each object of `a`, the object of `b` it overlaps most."""
    la, lb, n = _overlaps(a, b)
    order = np.lexsort((-lb, n, la))  # by object, then overlap; ties: the smaller id
    la, lb = la[order], lb[order]
    last = np.r_[la[1:] != la[:-1], True] if len(la) else np.zeros(0, bool)
    return dict(zip(la[last].tolist(), lb[last].tolist()))


def _blobs_holding(others: np.ndarray, cur: np.ndarray, frac: float, size_ratio: float
                   ) -> Iterator[tuple[int, np.ndarray]]:
    """``(blob, parts)`` for each object of `cur` that holds two or more objects of the
    neighbouring frame `others` (each with at least `frac` of its pixels inside it) and
    is at least `size_ratio` times their summed size."""
    other_area, cur_area = _areas(others), _areas(cur)
    la, lb, n = _overlaps(others, cur)
    inside = n >= frac * other_area[la]
    for blob in np.unique(lb[inside]).tolist():
        parts = la[inside & (lb == blob)]
        if len(parts) >= 2 and cur_area[blob] >= size_ratio * other_area[parts].sum():
            yield blob, parts


def _cut(frame: np.ndarray, box: tuple[slice, ...], blob: int, seeds: np.ndarray,
         parts: np.ndarray, next_id: int) -> int:
    """Cut object `blob` of `frame` (in place, inside `box`) by the watershed of its
    distance transform seeded with the pixels of `parts` (objects of the neighbouring
    frame `seeds`) that lie inside it: the first part keeps `blob`, the others get ids
    from `next_id` on. Return how many ids were used (0: nothing cut)."""
    m = frame[box] == blob
    markers = np.zeros(m.shape, np.int32)
    for k, p in enumerate(parts.tolist(), 1):
        markers[m & (seeds[box] == p)] = k
    return _cut_markers(frame, box, blob, markers, len(parts), next_id)


def _cut_markers(frame: np.ndarray, box: tuple[slice, ...], blob: int, markers: np.ndarray,
                 n_parts: int, next_id: int) -> int:
    """:func:`_cut` with its seeds given as `markers` (1 .. `n_parts`, in `box`)."""
    m = frame[box] == blob
    markers = np.where(m, markers, 0)
    # padded: the distance transform counts only pixels as background
    depth = ndi.distance_transform_edt(np.pad(m, 1))[(slice(1, -1),) * m.ndim]
    cut = watershed(-depth, markers, mask=m)
    if not (cut == 1).any():
        return 0
    view, used = frame[box], 0
    for k in range(2, n_parts + 1):
        if (cut == k).any():
            view[cut == k] = next_id + used
            used += 1
    return used


def _moved_markers(moved: tuple[np.ndarray, ...], box: tuple[slice, ...]) -> np.ndarray:
    """Markers 1, 2, ... in `box` from the moved pieces' pixel coordinates `moved`."""
    origin = np.array([s.start for s in box])
    markers = np.zeros(tuple(s.stop - s.start for s in box), np.int32)
    for k, q in enumerate(moved, 1):
        q = q - origin
        q = q[np.all((q >= 0) & (q < markers.shape), axis=1)]
        markers[tuple(q.T)] = k
    return markers


def _merged_pair_ok(origin: dict[int, int], read: Callable[[int], np.ndarray], t: int,
                    cur: np.ndarray, n_frames: int, frac: float, max_run: int,
                    size_ratio: float, blob: int, pair: tuple[int, int]) -> bool:
    """:func:`merged_splits`' gates for a moved pair: two objects two frames back, and
    the blob separates again (looking at moved pieces too)."""
    return (len({origin.get(int(p), -int(p)) for p in pair}) == 2
            and _separates(read, t, cur == blob, n_frames, frac, max_run, moved=True,
                           size_ratio=size_ratio))


def _sisters_ok(onward: dict[int, int], blob: int, pair: tuple[int, int]) -> bool:
    """:func:`joined_sister_splits`' onward gate: both pieces go on as two objects."""
    ahead = [onward.get(int(p)) for p in pair]
    return None not in ahead and ahead[0] != ahead[1]


def _moved_cuts(cur: np.ndarray, other: np.ndarray, skip: set[int], frac: float,
                size_ratio: float, keep: Callable[[int, tuple[int, int]], bool],
                next_id: int) -> int:
    """Cut (in place) each object of `cur` not in `skip` (the objects already cut and
    the pieces those cuts made) that a pair of `other`'s objects moved onto it covers
    (:func:`_moved_pairs`) and that ``keep(blob, pair)`` accepts, seeded with the moved
    pair; new ids from `next_id` on. Return how many ids were used."""
    found = list(_moved_pairs(cur, other, frac, size_ratio, skip))
    if not found:
        return 0
    boxes = ndi.find_objects(cur)
    used = 0
    for blob, pair, moved in found:
        if keep(blob, pair):
            box = boxes[blob - 1]
            used += _cut_markers(cur, box, blob, _moved_markers(moved, box), 2,
                                 next_id + used)
    return used


def _moved_pairs(cur: np.ndarray, nxt: np.ndarray, frac: float, size_ratio: float,
                 skip: set[int]
                 ) -> Iterator[tuple[int, tuple[int, int], tuple[np.ndarray, np.ndarray]]]:
    """``(blob, (a, b), moved)`` for each object of `cur` (not in `skip`) and two
    objects ``a``, ``b`` of the neighbouring frame `nxt` (before or after) that, moved
    together by one shift (which puts their joint centroid on the blob's), each lie at
    least `frac` inside it, where the blob is at least `size_ratio` times their summed
    size and the shift is at most the blob's equivalent radius; ``moved``: the two
    pieces' pixel coordinates after the shift. The pair with the largest smaller share
    wins."""
    cur_area, nxt_area = _areas(cur), _areas(nxt)
    la, lb, n = _overlaps(nxt, cur)
    touch = n >= 0.1 * nxt_area[la]
    if not touch.any():
        return
    nxt_boxes = ndi.find_objects(nxt)
    cur_boxes = ndi.find_objects(cur)
    for blob in np.unique(lb[touch]).tolist():
        if blob in skip:
            continue
        cands = la[touch & (lb == blob)].tolist()
        if len(cands) < 2 or len(cands) > 6:
            continue
        box = cur_boxes[blob - 1]
        bm = cur[box] == blob
        origin = np.array([s.start for s in box])
        bc = np.argwhere(bm).mean(axis=0) + origin
        radius = (np.sqrt(cur_area[blob] / np.pi) if cur.ndim == 2
                  else np.cbrt(3 * cur_area[blob] / (4 * np.pi)))
        coords = {}
        for c in cands:
            pb = nxt_boxes[c - 1]
            coords[c] = np.argwhere(nxt[pb] == c) + np.array([s.start for s in pb])
        best = None
        for i, a in enumerate(cands):
            for b in cands[i + 1:]:
                if cur_area[blob] < size_ratio * (nxt_area[a] + nxt_area[b]):
                    continue
                both = np.concatenate([coords[a], coords[b]])
                shift = np.rint(bc - both.mean(axis=0)).astype(int)
                if np.sqrt((shift ** 2).sum()) > radius:
                    continue
                shares = []
                for c in (a, b):
                    q = coords[c] + shift - origin
                    ok = np.all((q >= 0) & (q < bm.shape), axis=1)
                    shares.append(bm[tuple(q[ok].T)].sum() / len(q))
                if min(shares) >= frac and (best is None or min(shares) > best[0]):
                    best = (min(shares), (a, b), (coords[a] + shift, coords[b] + shift))
        if best is not None:
            yield blob, best[1], best[2]


def _moved_onto(mask: np.ndarray, nxt: np.ndarray, ids: np.ndarray, areas: np.ndarray,
                frac: float, size_ratio: float) -> bool:
    """Whether a pair of the objects `ids` of `nxt` (those `mask` overlaps; `areas`:
    every object's size) moved onto `mask` each lie `frac` inside it
    (:func:`_moved_pairs`). Looked at in a crop around the mask that holds those
    objects whole (the whole frame where it does not): the same answer, faster."""
    size = np.count_nonzero(mask)
    if not size:
        return False
    reach = int(2 * np.sqrt(size)) + 2
    spans = []
    for axis in range(mask.ndim):
        on = np.flatnonzero(mask.any(axis=tuple(a for a in range(mask.ndim) if a != axis)))
        spans.append(slice(max(0, int(on[0]) - reach), int(on[-1]) + 1 + reach))
    box: tuple[slice, ...] = tuple(spans)
    sub = nxt[box]
    if not np.array_equal(np.bincount(sub.ravel(), minlength=int(ids.max()) + 1)[ids],
                          areas[ids]):
        box = (slice(None),) * mask.ndim
        sub = nxt
    return any(True for _ in _moved_pairs(mask[box].astype(np.int32), sub, frac,
                                          size_ratio, set()))


def _separates(read: Callable[[int], np.ndarray], t: int, mask: np.ndarray, n_frames: int,
               frac: float, max_run: int, moved: bool = False,
               size_ratio: float = SIZE_RATIO) -> bool:
    """Whether the blob `mask` of frame `t`, followed by its largest overlap, has two or
    more objects of a later frame (within `max_run`) lying `frac` inside it (with
    `moved`, or a pair of them moved onto it: :func:`_moved_pairs`)."""
    for s in range(t + 1, min(t + 1 + max_run, n_frames)):
        nxt = read(s)
        ids, counts = np.unique(nxt[mask], return_counts=True)
        keep = ids > 0
        ids, counts = ids[keep], counts[keep]
        if len(ids) == 0:
            return False
        areas = _areas(nxt)
        if np.count_nonzero(counts >= frac * areas[ids]) >= 2:
            return True
        if moved and _moved_onto(mask, nxt, ids, areas, frac, size_ratio):
            return True
        mask = nxt == ids[np.argmax(counts)]
    return False


def merged_splits(
    read: Callable[[int], np.ndarray], n_frames: int, *, frac: float = FRAC,
    size_ratio: float = SIZE_RATIO, max_run: int = MAX_RUN, moved: bool = MOVED,
) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(t, repaired frame)`` for every frame the rule changes, in time order.

    `read(t)` returns frame ``t`` of the label movie as the segmenter drew it; the
    caller stores each repaired frame before the next is asked for (the rule looks
    back at repaired frames, kept here)."""
    if n_frames < 3:
        return
    # the look-ahead of several blobs reads the same frames: keep the last few read
    # (a frame cache on disk would load each once per blob otherwise)
    read = functools.lru_cache(maxsize=max_run + 2)(read)
    before2, before = np.asarray(read(0)), np.asarray(read(1))
    for t in range(2, n_frames):
        cur = np.array(read(t), copy=True)
        origin = _largest_overlap(before, before2)
        changed = False
        next_id = first_new = int(cur.max()) + 1
        boxes = None
        done: set[int] = set()
        for blob, parts in _blobs_holding(before, cur, frac, size_ratio):
            if len({origin.get(int(p), -int(p)) for p in parts}) < len(parts):
                continue  # the parts were one object two frames back: fragments
            mask = cur == blob
            if not _separates(read, t, mask, n_frames, frac, max_run, moved=moved,
                              size_ratio=size_ratio):
                continue
            if boxes is None:
                boxes = ndi.find_objects(cur)
            added = _cut(cur, boxes[blob - 1], blob, before, parts, next_id)
            next_id += added
            changed = changed or added > 0
            done.add(blob)
        if moved:
            keep = functools.partial(_merged_pair_ok, origin, read, t, cur, n_frames, frac,
                                     max_run, size_ratio)
            added = _moved_cuts(cur, before, done | set(range(first_new, next_id)),
                                frac, size_ratio, keep, next_id)
            next_id += added
            changed = changed or added > 0
        if changed:
            yield t, cur
        before2, before = before, cur


def split_merged(labels: Any, *, write: Callable[[int, np.ndarray], None] | None = None,
                 **rule: Any) -> list[int]:
    """Repair `labels` ``(T, [Z,] Y, X)`` in place (see the module docstring) and return
    the frames it changed.

    Parameters
    ----------
    labels : array-like
        Anything with ``labels[t]`` and ``shape``: a numpy array (changed in place), a zarr
        array, or the run's frame cache view.
    write : callable, optional
        ``write(t, frame)`` stores a repaired frame; default ``labels[t] = frame``.
    **rule
        ``frac``, ``size_ratio``, ``max_run``, ``moved`` (module constants by
        default; ``moved=False`` compares objects where they are, as before
        2026-12-07).

    Examples
    --------
    >>> movie = np.zeros((5, 8, 12), np.int32)
    >>> for t in range(5):
    ...     movie[t, 2:6, 1:5], movie[t, 2:6, 7:11] = 1, 2  # two cells
    >>> movie[2:4, 2:6, 5:7] = 1  # drawn as one object in frames 2 and 3
    >>> movie[2:4][movie[2:4] == 2] = 1
    >>> split_merged(movie)
    [2, 3]
    >>> [len(np.unique(f)) - 1 for f in movie]
    [2, 2, 2, 2, 2]
    """
    return _repair(merged_splits, labels, write, rule)


def joined_sister_splits(
    read: Callable[[int], np.ndarray], n_frames: int, *, frac: float = FRAC,
    size_ratio: float = SIZE_RATIO, moved: bool = MOVED,
) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(t, repaired frame)`` for every frame where sisters drawn joined are
    split one frame before the segmenter separates them (see
    :func:`split_joined_sisters`), in time order.

    `read(t)` returns frame ``t``; frame ``t + 1`` is read as the segmenter (or the
    merge repair) left it, never as this rule changed it, so a division moves back by
    one frame at most."""
    if n_frames < 3:
        return
    read = functools.lru_cache(maxsize=4)(read)
    for t in range(n_frames - 2):
        cur = np.array(read(t), copy=True)
        nxt, after = np.asarray(read(t + 1)), np.asarray(read(t + 2))
        onward = _largest_overlap(nxt, after)
        changed = False
        next_id = first_new = int(cur.max()) + 1
        boxes = None
        done: set[int] = set()
        for blob, parts in _blobs_holding(nxt, cur, frac, size_ratio):
            if len(parts) != 2:
                continue
            ahead = [onward.get(int(p)) for p in parts]
            if None in ahead or ahead[0] == ahead[1]:
                continue   # a piece vanishes, or they are one object again: fragments
            if boxes is None:
                boxes = ndi.find_objects(cur)
            added = _cut(cur, boxes[blob - 1], blob, nxt, parts, next_id)
            next_id += added
            changed = changed or added > 0
            done.add(blob)
        if moved:
            keep = functools.partial(_sisters_ok, onward)
            added = _moved_cuts(cur, nxt, done | set(range(first_new, next_id)),
                                frac, size_ratio, keep, next_id)
            next_id += added
            changed = changed or added > 0
        if changed:
            yield t, cur


def split_joined_sisters(labels: Any, *,
                         write: Callable[[int, np.ndarray], None] | None = None,
                         **rule: Any) -> list[int]:
    """Split, one frame before the segmenter separates them, sisters it drew as one
    object; repair `labels` ``(T, [Z,] Y, X)`` in place and return the frames changed.

    Touching sisters (bacteria end to end after the septum closes, cells in
    cytokinesis) are often drawn as one object for a frame or two after they are two
    cells, and the tracker then finds the division late. An object of frame ``t`` is
    split when exactly two objects of frame ``t + 1`` each lie at least ``frac``
    inside it, it is at least ``size_ratio`` times their summed size, and both
    continue as separate objects in frame ``t + 2`` (a cell cut in two for one frame
    is not split back); the watershed of :func:`split_merged`, seeded by the two
    pieces, cuts it. Only one frame back: the division then falls one frame earlier
    than the segmenter drew it. Pieces that moved are compared after moving them
    (``moved``, the module docstring). `rule`: ``frac``, ``size_ratio``, ``moved``.

    Why one frame: on the training part of the E. coli colony celldyn's segmentation
    put the sisters in two objects 0 / 1 / 2 frames after the ground truth in 3 / 15 /
    10 of its 30 divisions (2 not within 6 frames), on PSC's 16 / 28 / 9 of 73 (8
    later, 12 not within reach), and the division measures accept one frame; on
    separated nuclei (Fluo-N2DL-HeLa: 25 / 3 / 0) the rule rarely applies, since
    daughters do not lie inside their mother's mask (benchmarks/RESULTS.md,
    'Segmentation: temporal repair of merged cells', where the test parts are scored).

    Examples
    --------
    >>> movie = np.zeros((4, 6, 14), np.int32)
    >>> movie[:2, 1:5, 1:13] = 1                       # one rod in frames 0 and 1
    >>> movie[2:, 1:5, 1:7], movie[2:, 1:5, 7:13] = 1, 2  # two touching halves
    >>> split_joined_sisters(movie)
    [1]
    >>> [len(np.unique(f)) - 1 for f in movie]
    [1, 2, 2, 2]
    """
    # frame t is judged before frame t + 1 is and never read again: stored at once
    return _repair(joined_sister_splits, labels, write, rule)


def _repair(rule_frames: Callable[..., Iterator[tuple[int, np.ndarray]]], labels: Any,
            write: Callable[[int, np.ndarray], None] | None, rule: dict) -> list[int]:
    """Store every frame `rule_frames` repairs as it comes (``labels[t] = frame`` or
    `write`); return the frames changed."""
    def read(t: int) -> np.ndarray:
        return np.asarray(labels[t])

    store = write or labels.__setitem__
    changed = []
    for t, frame in rule_frames(read, int(labels.shape[0]), **rule):
        store(t, frame)
        changed.append(t)
    return changed

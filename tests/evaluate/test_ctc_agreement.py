"""Agreement of celldyn's CTC metrics with the reference tool py-ctcmetrics.

Each case writes a ground truth and a result as CTC folders in tmp_path, scores them
with py-ctcmetrics' ``evaluate_sequence`` and with :func:`celldyn.evaluate.evaluate_ctc`
in memory, and compares scores (to 1e-3) and AOGM counts (exactly). Results are
perturbed ground truth (lost, eroded, merged and cut objects, false positives, broken
and swapped tracks) made valid again by :func:`_repair`.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import tifffile
from scipy import ndimage as ndi

from celldyn.evaluate import evaluate_ctc

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
COUNTS = ("NS", "FN", "FP", "ED", "EA", "EC")


# ----------------------------------------------------------------------- CTC folders


def _read_stack(folder: Path, prefix: str, frames) -> np.ndarray:
    return np.stack([tifffile.imread(folder / f"{prefix}{t:03d}.tif") for t in frames])


def _read_table(path: Path) -> np.ndarray:
    return np.loadtxt(path, dtype=np.int64, ndmin=2).reshape(-1, 4)


def _subset(labels: np.ndarray, table: np.ndarray, start: int, stop: int):
    """Frames start..stop-1 of a CTC movie and its table, renumbered from 0."""
    keep = (table[:, 2] >= start) & (table[:, 1] < stop)
    sub = table[keep].copy()
    sub[:, 1] = np.maximum(sub[:, 1], start) - start
    sub[:, 2] = np.minimum(sub[:, 2], stop - 1) - start
    sub[~np.isin(sub[:, 3], sub[:, 0]), 3] = 0
    return labels[start:stop], sub


def _write_ctc(root: Path, gt, gt_table, gt_seg: dict, res, res_table):
    gt_dir, res_dir = root / "01_GT", root / "01_RES"
    for d in (gt_dir / "TRA", gt_dir / "SEG", res_dir):
        d.mkdir(parents=True)
    for t in range(gt.shape[0]):
        tifffile.imwrite(
            gt_dir / "TRA" / f"man_track{t:03d}.tif", gt[t].astype(np.uint16)
        )
        tifffile.imwrite(res_dir / f"mask{t:03d}.tif", res[t].astype(np.uint16))
    for t, frame in gt_seg.items():
        tifffile.imwrite(
            gt_dir / "SEG" / f"man_seg{t:03d}.tif", frame.astype(np.uint16)
        )
    np.savetxt(gt_dir / "TRA" / "man_track.txt", np.asarray(gt_table), fmt="%d")
    np.savetxt(res_dir / "res_track.txt", np.asarray(res_table), fmt="%d")
    return gt_dir, res_dir


def _ctcmetrics(gt_dir: Path, res_dir: Path) -> dict:
    evaluate = pytest.importorskip("ctc_metrics.scripts.evaluate")
    with contextlib.redirect_stdout(io.StringIO()):
        out = evaluate.evaluate_sequence(
            str(res_dir), str(gt_dir), metrics=["DET", "SEG", "TRA", "LNK"], threads=1
        )
    assert out.get("TRA") is not None, "py-ctcmetrics found the result invalid"
    return out


def _compare(tmp_path, gt, gt_table, gt_seg, res, res_table) -> dict:
    pytest.importorskip("ctc_metrics")
    ours = evaluate_ctc(gt, gt_table, res, res_table, gt_seg=gt_seg)
    ref = _ctcmetrics(*_write_ctc(tmp_path, gt, gt_table, gt_seg, res, res_table))
    for key in ("SEG", "DET", "TRA", "LNK"):
        assert ours[key] == pytest.approx(ref[key], abs=1e-3), key
    assert {k: ours[k] for k in COUNTS} == {k: int(ref[f"AOGM_{k}"]) for k in COUNTS}
    return ours


# ----------------------------------------------------------------- perturbations


def _repair(
    labels: np.ndarray, parent_of: dict[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Make a label movie CTC-valid and derive its track table.

    A label present in non-contiguous runs of frames keeps its id for the first run;
    each later run gets a new id whose parent is the run before (the CTC encoding of
    a gap). A track's parent (from `parent_of`) is kept when a run of the parent
    ends before the track begins, else dropped.
    """
    labels = labels.copy()
    frames_of: dict[int, list[int]] = {}
    for t in range(labels.shape[0]):
        for lab in np.unique(labels[t]):
            if lab:
                frames_of.setdefault(int(lab), []).append(t)
    next_id = max(frames_of, default=0) + 1
    runs_of: dict[int, list[tuple[int, int, int]]] = {}  # label -> [(id, begin, end)]
    for lab, frames in sorted(frames_of.items()):
        cuts = np.flatnonzero(np.diff(frames) > 1) + 1
        for k, run in enumerate(np.split(np.asarray(frames), cuts)):
            new = lab if k == 0 else next_id
            if k:
                next_id += 1
                for t in run:
                    labels[t][labels[t] == lab] = new
            runs_of.setdefault(lab, []).append((new, int(run[0]), int(run[-1])))
    rows = []
    for lab, runs in runs_of.items():
        for k, (new, b, e) in enumerate(runs):
            if k:
                parent = runs[k - 1][0]
            else:
                before = [r for r in runs_of.get(parent_of.get(lab, 0), []) if r[2] < b]
                parent = max(before, key=lambda r: r[2])[0] if before else 0
            rows.append([new, b, e, parent])
    return labels, np.array(sorted(rows), dtype=np.int64).reshape(-1, 4)


def _erode(frame: np.ndarray) -> np.ndarray:
    """Remove each object's boundary pixels (where a neighbour has another label)."""
    hi = ndi.grey_dilation(frame, size=3)
    lo = ndi.grey_erosion(frame, size=3)
    return np.where(hi == lo, frame, 0).astype(frame.dtype)


def _perturb(
    labels: np.ndarray, table: np.ndarray, rng: np.random.Generator, *, p: float = 0.06
) -> tuple[np.ndarray, np.ndarray]:
    """A result with every kind of error, each at a rate of about `p` per object."""
    res = labels.astype(np.int64).copy()
    parent_of = {int(r[0]): int(r[3]) for r in table}
    next_id = int(res.max()) + 1
    for t in range(res.shape[0]):
        frame = res[t]
        ids = np.unique(frame)
        ids = ids[ids > 0]
        if t % 3 == 1:
            frame[:] = _erode(frame)
        for lab in ids:
            u = rng.random()
            mask = frame == lab
            if not mask.any():
                continue
            if u < p:  # lost
                frame[mask] = 0
            elif u < 2 * p:  # cut along its first axis, at a random place
                coords = np.nonzero(mask)
                cut = rng.uniform(coords[0].min(), coords[0].max() + 1)
                part = tuple(c[coords[0] >= cut] for c in coords)
                frame[part] = next_id
                next_id += 1
            elif u < 3 * p:  # merged into the nearest other object
                dist = ndi.distance_transform_edt(~mask)
                others = (frame > 0) & ~mask & (dist < 6)
                if others.any():
                    frame[frame == frame[others][0]] = lab
            elif u < 4 * p:  # identity broken from here on, sometimes with a parent
                later = res[t:] == lab
                res[t:][later] = next_id
                parent_of[next_id] = lab if rng.random() < 0.5 else 0
                next_id += 1
            elif u < 5 * p and ids.size > 1:  # swapped with another track from here on
                other = int(rng.choice(ids[ids != lab]))
                a, b = res[t:] == lab, res[t:] == other
                res[t:][a], res[t:][b] = other, lab
        if rng.random() < 0.5:  # a false positive in the background
            where = np.argwhere(_erode(frame) == 0)
            centre = where[rng.integers(len(where))]
            box = tuple(slice(max(c - 2, 0), c + 2) for c in centre)
            frame[box] = np.where(frame[box] == 0, next_id, frame[box])
            next_id += 1
    return _repair(res, parent_of)


# ------------------------------------------------------------------ simulated movies


def _simulate(rng: np.random.Generator, *, shape=(80, 80), n_frames=8, n_cells=7):
    """Random discs (spheres for 3D shapes) that drift, and sometimes divide."""
    grid = np.indices(shape, dtype=np.float64)
    size = np.asarray(shape, dtype=np.float64)
    cells = {}  # label -> (centre, radius)
    parent_of: dict[int, int] = {}
    next_id = 1
    for _ in range(n_cells):
        cells[next_id] = (rng.uniform(6, size - 6), rng.uniform(3, 6))
        next_id += 1
    labels = np.zeros((n_frames, *shape), dtype=np.uint16)
    for t in range(n_frames):
        for lab, (centre, radius) in cells.items():
            inside = (
                sum((g - c) ** 2 for g, c in zip(grid, centre, strict=True))
                <= radius**2
            )
            labels[t][inside] = lab
        moved = {}
        for lab, (centre, radius) in cells.items():
            centre = np.clip(centre + rng.normal(0, 1.5, len(shape)), 3, size - 3)
            if rng.random() < 0.12 and len(cells) < 14:
                step = rng.normal(size=len(shape))
                step *= radius / np.linalg.norm(step)
                for sign in (1, -1):
                    moved[next_id] = (
                        np.clip(centre + sign * step, 3, size - 3),
                        max(radius * 0.8, 2.5),
                    )
                    parent_of[next_id] = lab
                    next_id += 1
            elif rng.random() > 0.03:  # else the cell leaves the field
                moved[lab] = (centre, radius)
        cells = moved
    return _repair(labels, parent_of)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_agrees_with_ctcmetrics_on_simulated_2d(tmp_path, seed):
    rng = np.random.default_rng(seed)
    gt, gt_table = _simulate(rng)
    res, res_table = _perturb(gt, gt_table, rng, p=0.08)
    gt_seg = {t: gt[t] for t in range(0, gt.shape[0], 2)}
    ours = _compare(tmp_path, gt, gt_table, gt_seg, res, res_table)
    assert ours["TRA"] < 1


def test_agrees_with_ctcmetrics_on_simulated_3d(tmp_path):
    rng = np.random.default_rng(7)
    gt, gt_table = _simulate(rng, shape=(12, 40, 40), n_frames=5, n_cells=5)
    res, res_table = _perturb(gt, gt_table, rng, p=0.1)
    ours = _compare(tmp_path, gt, gt_table, {1: gt[1], 3: gt[3]}, res, res_table)
    assert ours["TRA"] < 1


# ------------------------------------------------------------------------- real data


def _real(name: str) -> Path:
    folder = DATA / name
    if not folder.is_dir():
        pytest.skip(f"real data not found at {folder}")
    return folder


@pytest.mark.real_data
def test_ecoli_result_scores_one():
    folder = _real("PhC-C2DL-EcoliColony-vanVliet-01")
    frames = range(40)
    gt = _read_stack(folder / "01_GT" / "TRA", "man_track", frames)
    res = _read_stack(folder / "01_RES", "mask", frames)
    gt_table = _read_table(folder / "01_GT" / "TRA" / "man_track.txt")
    res_table = _read_table(folder / "01_RES" / "res_track.txt")
    scores = evaluate_ctc(
        gt, gt_table, res, res_table, gt_seg={t: gt[t] for t in frames}
    )
    assert scores["SEG"] == scores["DET"] == scores["TRA"] == scores["LNK"] == 1.0


@pytest.mark.real_data
@pytest.mark.parametrize("kind", ["mixed", "swaps"])
def test_agrees_with_ctcmetrics_on_perturbed_ecoli(tmp_path, kind):
    folder = _real("PhC-C2DL-EcoliColony-vanVliet-01")
    start, stop = 28, 36  # about 100 cells, several divisions
    frames = range(start, stop)
    gt = _read_stack(folder / "01_GT" / "TRA", "man_track", frames)
    res = _read_stack(folder / "01_RES", "mask", frames)
    table = _read_table(folder / "01_GT" / "TRA" / "man_track.txt")
    _, gt_table = _subset(gt, table, start, stop)
    _, res_table = _subset(
        res, _read_table(folder / "01_RES" / "res_track.txt"), start, stop
    )
    rng = np.random.default_rng(11)
    if kind == "mixed":
        res, res_table = _perturb(res, res_table, rng, p=0.05)
    else:  # swap two neighbouring tracks' labels from some frame on, several times
        res = res.astype(np.int64)
        parent_of = {int(r[0]): int(r[3]) for r in res_table}
        for _ in range(6):
            t = int(rng.integers(1, res.shape[0]))
            ids = np.unique(res[t])[1:]
            a = int(rng.choice(ids))
            near = (
                ndi.grey_dilation(res[t] == a, size=15) & (res[t] > 0) & (res[t] != a)
            )
            b = int(res[t][near][0]) if near.any() else int(rng.choice(ids[ids != a]))
            ma, mb = res[t:] == a, res[t:] == b
            res[t:][ma], res[t:][mb] = b, a
        res, res_table = _repair(res, parent_of)
    gt_seg = {t: gt[t] for t in (0, 3, 7)}
    ours = _compare(tmp_path, gt, gt_table, gt_seg, res, res_table)
    assert ours["TRA"] < 1


@pytest.mark.real_data
def test_agrees_with_ctcmetrics_on_perturbed_sim_plus(tmp_path):
    folder = _real("Fluo-N2DH-SIM+-01")
    start, stop = 20, 30
    frames = range(start, stop)
    gt = _read_stack(folder / "01_GT" / "TRA", "man_track", frames)
    _, gt_table = _subset(
        gt, _read_table(folder / "01_GT" / "TRA" / "man_track.txt"), start, stop
    )
    seg = _read_stack(folder / "01_GT" / "SEG", "man_seg", frames)
    # SIM+ SEG and TRA are the same full masks, so the result starts from SEG.
    res, res_table = _perturb(gt, gt_table, np.random.default_rng(5), p=0.06)
    gt_seg = {t: seg[t] for t in range(0, stop - start, 2)}
    ours = _compare(tmp_path, gt, gt_table, gt_seg, res, res_table)
    assert 0.5 < ours["SEG"] < 1 and ours["TRA"] < 1
    assert pd.notna(ours["LNK"])


def test_sparse_pair_counting_matches_dense(monkeypatch):
    import celldyn.evaluate.ctc as ctc

    rng = np.random.default_rng(3)
    gt, gt_table = _simulate(rng)
    res, res_table = _perturb(gt, gt_table, rng, p=0.08)
    gt_seg = {0: gt[0], 5: gt[5]}
    dense = evaluate_ctc(gt, gt_table, res, res_table, gt_seg=gt_seg)
    monkeypatch.setattr(ctc, "_DENSE_PAIRS", 0)
    monkeypatch.setattr(ctc, "_LUT_MAX", 0)
    assert evaluate_ctc(gt, gt_table, res, res_table, gt_seg=gt_seg) == dense

"""Scale without a cluster: a frame segmented in blocks and stitched, tracking in time
windows (celldyn.scale, issue 19)."""

from __future__ import annotations

import numpy as np
import pytest

from scipy import ndimage as ndi

from celldyn.measure import measure_objects
from celldyn.scale import segment_blocks, track_windows
from celldyn.scale.blocks import block_grid
from celldyn.simulate import simulate_movie
from celldyn.track import track_objects


def _same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    """True when `a` and `b` are the same objects with ids renamed (a bijection)."""
    if not np.array_equal(a > 0, b > 0):
        return False
    pairs = np.unique(np.stack([a[a > 0], b[b > 0]]), axis=1)
    return (len(np.unique(pairs[0])) == pairs.shape[1] == len(np.unique(pairs[1])))


def _local_segmenter(frame):
    """Smooth, a fixed threshold (block-local: no statistic of the whole frame), label."""
    level = (float(frame.min()) + float(frame.max())) / 2

    def segment(block):
        return ndi.label(ndi.gaussian_filter(block.astype(float), 1) > level)[0]

    return segment


@pytest.mark.parametrize("ndim", [2, 3], ids=["2d", "3d"])
def test_blocks_stitch_to_the_whole_frame_segmentation(ndim):
    shape = (96, 96) if ndim == 2 else (20, 56, 56)
    sim = simulate_movie(ndim=ndim, n_frames=1, shape=shape, n_objects=14 if ndim == 2 else 6,
                         rng=3)
    frame = sim.movie.data[0]
    func = _local_segmenter(frame)
    whole = func(frame)
    block = 32 if ndim == 2 else (20, 28, 28)
    stitched = segment_blocks(frame, func, block=block, overlap=20)
    # objects really are cut by the blocks' core boundaries
    cores = block_grid(frame.shape, block, 0)
    per_block = sum(len(np.unique(whole[core])[1:]) for core, _ in cores)
    assert per_block > int(whole.max()) + 1, "too few objects cross a block boundary"
    assert stitched.dtype == np.int32
    assert int(stitched.max()) == len(np.unique(whole)) - 1  # ids 1..n, unique
    assert _same_partition(whole, stitched)


def test_blocks_without_stitching_would_split_objects():
    """The stitching is what joins the pieces: with no margin objects stay cut."""
    sim = simulate_movie(n_frames=1, shape=(96, 96), n_objects=14, rng=3)
    frame = sim.movie.data[0]
    func = _local_segmenter(frame)
    whole = func(frame)
    cut = segment_blocks(frame, func, block=32, overlap=0)
    assert int(cut.max()) > int(whole.max())
    assert not _same_partition(whole, cut)


def _pairs(tracks):
    t = tracks.objects["t"].to_numpy()
    seg = tracks.seg_id
    return {((t[a], seg[a]), (t[b], seg[b])) for a, b in tracks.edges}


def test_windowed_tracking_equals_whole_movie_tracking():
    """Frame-to-frame LAP without gap closing is local in time: windows joined give the
    whole-movie graph exactly (a simulated movie with crossings and drift)."""
    sim = simulate_movie(n_frames=40, shape=(96, 96), n_objects=12, speed=2.5,
                         appear_rate=0.05, boundary="leave", noise=False, rng=7)
    objects = measure_objects(sim.labels)
    kw = dict(tracker="lap", max_distance=8.0, max_gap=0, divisions=False)
    whole = track_objects(objects, **kw)
    windowed = track_windows(objects, window=7, overlap=2, **kw)
    assert len(whole.edges) > 300
    assert _pairs(windowed) == _pairs(whole)
    assert np.array_equal(windowed.edges, whole.edges)
    assert windowed.table.equals(whole.table)


def test_windowed_tracking_with_labels_and_gaps_keeps_every_link_once():
    sim = simulate_movie(n_frames=20, shape=(64, 64), n_objects=6, noise=False, rng=2)
    objects = measure_objects(sim.labels)
    tracks = track_windows(objects, window=5, overlap=3, max_distance=8.0,
                           labels=sim.labels, max_gap=2)
    assert len(np.unique(tracks.edges[:, 1])) == len(tracks.edges)  # in-degree <= 1
    whole = track_objects(objects, labels=sim.labels, max_distance=8.0, max_gap=2)
    assert _pairs(tracks) == _pairs(whole)

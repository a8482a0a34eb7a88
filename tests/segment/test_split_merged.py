"""Temporal repair of merged cells (celldyn.segment.temporal) and its place in the run."""

from __future__ import annotations

import numpy as np
import pytest

from celldyn.measure import measure_objects
from celldyn.segment.temporal import split_merged


def two_cells(n_frames=8, merged=(3, 4), ndim=2):
    """Two square cells side by side; in the `merged` frames the segmenter drew them as
    one object (the gap between them filled)."""
    shape = (n_frames, 20, 30) if ndim == 2 else (n_frames, 6, 20, 30)
    movie = np.zeros(shape, np.int32)
    box = (slice(5, 15),) if ndim == 2 else (slice(1, 5), slice(5, 15))
    for t in range(n_frames):
        movie[(t, *box, slice(3, 13))] = 1
        movie[(t, *box, slice(16, 26))] = 2
    for t in merged:
        movie[(t, *box, slice(3, 26))] = 1
    return movie


@pytest.mark.parametrize("ndim", [2, 3])
def test_a_merge_between_two_separate_phases_is_split_back(ndim):
    movie = two_cells(ndim=ndim)
    assert split_merged(movie) == [3, 4]
    # two objects in every frame, on exactly the pixels the segmenter drew (only cut)
    assert all(len(np.unique(f[f > 0])) == 2 for f in movie)
    assert np.array_equal(movie > 0, two_cells(ndim=ndim) > 0)
    # the cut lies in the filled gap: each cell keeps its own pixels
    left = movie[3][..., 3:13]
    assert len(np.unique(left[left > 0])) == 1


def test_a_merge_that_never_ends_is_left_alone():
    movie = two_cells(merged=(3, 4, 5, 6, 7))
    before = movie.copy()
    assert split_merged(movie) == []
    assert np.array_equal(movie, before)


def test_a_merge_longer_than_max_run_is_left_alone():
    movie = two_cells(n_frames=10, merged=(3, 4, 5, 6))
    assert split_merged(movie.copy(), max_run=3) == []
    assert split_merged(movie, max_run=4) == [3, 4, 5, 6]


def test_a_cell_cut_in_two_for_one_frame_is_not_split_again():
    """Over-segmentation: one cell, cut into two fragments in frame 2, whole again in
    frame 3 and cut again in frame 4. The fragments were one object in frame 1, so the
    whole cell of frame 3 is not split into them."""
    movie = np.zeros((6, 20, 30), np.int32)
    movie[:, 5:15, 3:26] = 1
    movie[2, 5:15, 15:26] = 2
    movie[4, 5:15, 15:26] = 2
    before = movie.copy()
    assert split_merged(movie) == []
    assert np.array_equal(movie, before)


def test_a_blob_smaller_than_the_pair_it_covers_is_not_split():
    """The blob must be about the size of the objects it absorbs together: one that
    covers 60-70 % of each of two cells but is smaller than their sum is not their
    union (e.g. a new object drawn across their edges)."""
    movie = np.zeros((6, 20, 30), np.int32)
    movie[:, 5:15, 3:13], movie[:, 5:15, 14:24] = 1, 2
    movie[3] = 0
    movie[3, 5:15, 6:20] = 1  # 140 px over 70 + 60 px of the two 100-px cells
    before = movie.copy()
    assert split_merged(movie) == []
    assert np.array_equal(movie, before)
    movie[3, 5:15, 6:21] = 1  # 150 px: the pair's union at 0.75 of their sum
    assert split_merged(movie) == [3]


def test_a_custom_writer_gets_the_repaired_frames():
    movie = two_cells()
    seen = {}
    assert split_merged(movie.copy(), write=lambda t, f: seen.__setitem__(t, f.copy())) == [3, 4]
    assert sorted(seen) == [3, 4] and all(len(np.unique(f)) == 3 for f in seen.values())


# --- in the run -------------------------------------------------------------------


def _split_merged_cases(tmp_path, labels):
    """(seg, objects, cache) as each path of pipeline.run hands them over."""

    from celldyn.io.run_folder import FrameCache

    raw = (labels > 0).astype(np.float32)
    yield "memory", labels.copy(), None, None
    cache = FrameCache(tmp_path / "frames", "x")
    for t, frame in enumerate(labels):
        cache.put(t, frame)
    yield "frame cache", cache.frames(labels.shape), None, None
    yield "client", labels.copy(), measure_objects(labels, raw), None
    chunked = FrameCache(tmp_path / "chunks", "y")
    store = chunked.chunk_labels(labels.shape, chunks=(3, *labels.shape[1:]))
    store[:] = labels
    yield "client + cache", store, measure_objects(labels, raw), chunked


def merged_and_joined():
    """Two cells drawn as one in frames 3-4 above a rod whose sisters the segmenter
    separates in frame 5 (both repairs apply)."""
    movie = np.zeros((8, 34, 40), np.int32)
    movie[:, :20, :30] = two_cells()
    rod = dividing_rod(n_frames=8, parts_from=5)
    movie[:, 21:33][rod > 0] = rod[rod > 0] + 2
    return movie


@pytest.mark.parametrize("make, said", [
    (two_cells, ["two cells drawn as one split in 2 frames"]),
    (merged_and_joined, ["two cells drawn as one split in 2 frames",
                         "sisters drawn joined split a frame before they part in 1 frame"]),
])
def test_every_path_of_the_run_repairs_and_measures_alike(tmp_path, make, said):
    from celldyn.movie import Movie
    from celldyn.scale.plan import repair_merges
    from celldyn.segment.temporal import split_joined_sisters

    labels = make()
    raw = (labels > 0).astype(np.float32)
    movie = Movie(raw, "TYX")
    want = make()
    split_merged(want)
    split_joined_sisters(want)
    for name, seg, objects, cache in _split_merged_cases(tmp_path, labels):
        seg, objects, clause = repair_merges(seg, objects, movie, cache)
        got = np.stack([np.asarray(seg[t]) for t in range(len(labels))])
        assert np.array_equal(got, want), name
        assert all(x in clause for x in said), (name, clause)
        if objects is not None:
            fresh = measure_objects(want, raw)
            assert objects[list(fresh.columns)].equals(fresh), name
    # the chunked store keeps the chunks as the tasks wrote them (a resume re-repairs)
    import zarr

    kept = zarr.open_array(str(tmp_path / "chunks" / "segmented.zarr"), mode="r")
    assert np.array_equal(np.asarray(kept), labels)


def test_the_run_does_not_read_a_merge_and_split_as_a_division(monkeypatch):
    from celldyn import pipeline
    from celldyn.movie import Movie

    labels = two_cells(n_frames=10, merged=(4, 5))
    raw = (labels > 0).astype(np.float32) * 100

    def fake_segment(seen, movie, how, config, client=None, semantic=None):
        return labels.copy(), None, ""

    import celldyn.track.api as track_api

    monkeypatch.setattr(pipeline.plan, "segment", fake_segment)
    movie = Movie(raw, "TYX")
    tracker_rule = pipeline.run(movie, segmenter="classical", split_merged=False,
                                min_daughter_frames=0)
    fixed = pipeline.run(movie, segmenter="classical", min_daughter_frames=0)
    # without the repair, and without the tracker's own rule for such events
    # (celldyn.track.merge_split), the split reads as a division
    monkeypatch.setattr(track_api, "undo_merge_splits", lambda o, e, **kw: (e, 0))
    kept = pipeline.run(movie, segmenter="classical", split_merged=False,
                        min_daughter_frames=0)
    n_div = [int((np.bincount(r.edges[:, 0]) == 2).sum()) if len(r.edges) else 0
             for r in (kept, fixed, tracker_rule)]
    assert n_div[0] >= 1
    assert n_div[1] == 0
    assert len(fixed.tracks) == 2  # two cells, one track each, through the merge
    assert "two cells drawn as one split in 2 frames" in fixed.segmentation
    assert n_div[2] == 0  # the tracker's rule alone: no division either


def dividing_rod(n_frames=7, parts_from=4, rejoin=None):
    """A rod growing to the right; the segmenter draws its two daughters (touching end
    to end) as separate objects from frame `parts_from` on (until `rejoin`, if given)."""
    movie = np.zeros((n_frames, 12, 40), np.int32)
    for t in range(n_frames):
        end = 16 + 2 * t
        if parts_from <= t < (rejoin or n_frames):
            mid = (4 + end) // 2
            movie[t, 4:8, 4:mid], movie[t, 4:8, mid:end] = 1, 2
        else:
            movie[t, 4:8, 4:end] = 1
    return movie


def test_joined_sisters_are_split_one_frame_before_they_part():
    from celldyn.segment.temporal import split_joined_sisters

    movie = dividing_rod()
    drawn = movie.copy()
    assert split_joined_sisters(movie) == [3]
    assert [len(np.unique(f[f > 0])) for f in movie] == [1, 1, 1, 2, 2, 2, 2]
    assert np.array_equal(movie > 0, drawn > 0)          # only cut, never moved
    # the cut follows the next frame's pieces: each half keeps its end of the rod
    left, right = movie[3, 6, 5], movie[3, 6, movie[3, 6].nonzero()[0][-1]]
    assert left != right and (movie[3] == left).sum() > 10 and (movie[3] == right).sum() > 10


def test_a_cell_cut_in_two_for_one_frame_is_not_split_back():
    from celldyn.segment.temporal import split_joined_sisters

    movie = dividing_rod(parts_from=4, rejoin=5)          # pieces in frame 4 only
    before = movie.copy()
    assert split_joined_sisters(movie) == []
    assert np.array_equal(movie, before)


def test_separate_daughters_outside_the_mother_are_not_split_back():
    """Nuclei: the daughters lie apart, not inside the mother's mask."""
    from celldyn.segment.temporal import split_joined_sisters

    movie = np.zeros((5, 30, 30), np.int32)
    movie[:2, 12:18, 12:18] = 1
    for t in range(2, 5):
        movie[t, 12:18, 2:8], movie[t, 12:18, 22:28] = 1, 2
    before = movie.copy()
    assert split_joined_sisters(movie) == []
    assert np.array_equal(movie, before)


def test_the_run_finds_a_late_drawn_division_a_frame_earlier(monkeypatch):
    from celldyn import pipeline
    from celldyn.movie import Movie

    labels = dividing_rod(n_frames=8, parts_from=4)
    raw = (labels > 0).astype(np.float32) * 100

    def fake_segment(seen, movie, how, config, client=None, semantic=None):
        return labels.copy(), None, ""

    monkeypatch.setattr(pipeline.plan, "segment", fake_segment)
    movie = Movie(raw, "TYX")

    def division_frame(result):
        t = result.objects["t"].to_numpy()
        out = np.bincount(result.edges[:, 0], minlength=len(t))
        return sorted(t[out == 2].tolist())

    kept = pipeline.run(movie, segmenter="classical", split_merged=False)
    fixed = pipeline.run(movie, segmenter="classical")
    assert division_frame(kept) == [3]
    assert division_frame(fixed) == [2]
    assert "sisters drawn joined split a frame before they part in 1 frame" in \
        fixed.segmentation


def _pushed_rod(shift: int = 4) -> np.ndarray:
    """A rod whole in frames 0-2, two touching halves from frame 3 on, the whole colony
    pushed `shift` px to the right every frame (the halves lie about half inside the
    joined rod of the frame before)."""
    movie = np.zeros((6, 8, 60), np.int32)
    for t in range(6):
        x0 = 2 + shift * t
        if t < 3:
            movie[t, 2:6, x0:x0 + 16 + t] = 1
        else:
            movie[t, 2:6, x0:x0 + 9], movie[t, 2:6, x0 + 9:x0 + 18] = 1, 2
    return movie


def test_sisters_that_moved_are_split_when_compared_after_moving():
    from celldyn.segment.temporal import split_joined_sisters

    drawn = _pushed_rod()
    still = drawn.copy()
    assert split_joined_sisters(still, moved=False) == []      # half inside: not seen
    movie = drawn.copy()
    assert split_joined_sisters(movie) == [2]
    assert [len(np.unique(f[f > 0])) for f in movie] == [1, 1, 2, 2, 2, 2]
    assert np.array_equal(movie > 0, drawn > 0)
    # each half of frame 2 is at the end of the rod its moved daughter covers
    row = movie[2, 3][movie[2, 3] > 0]
    assert row[0] != row[-1] and (row == row[0]).sum() >= 6 and (row == row[-1]).sum() >= 6


def test_a_pair_too_large_for_the_object_is_not_taken_for_sisters():
    """A 14 px object, then two 10 px objects beside each other, pushed 3 px: moved onto
    it each lies 0.7 inside (enough), but together they are larger than the object
    allows (56 < 0.75 x 80 px), so the size gate refuses them; without that gate the
    same movie is split."""
    from celldyn.segment.temporal import split_joined_sisters

    movie = np.zeros((4, 8, 60), np.int32)
    movie[0, 2:6, 10:24] = 1
    for t in (1, 2, 3):
        x0 = 7 + 3 * t
        movie[t, 2:6, x0:x0 + 10], movie[t, 2:6, x0 + 10:x0 + 20] = 1, 2
    before = movie.copy()
    assert split_joined_sisters(movie) == []
    assert np.array_equal(movie, before)
    assert split_joined_sisters(movie.copy(), size_ratio=0.6) == [0]


def test_two_cells_that_moved_while_drawn_as_one_are_split_back():
    from celldyn.segment.temporal import split_merged

    movie = np.zeros((7, 10, 70), np.int32)
    for t in range(7):
        x0 = 2 + 4 * t
        movie[t, 2:8, x0:x0 + 8], movie[t, 2:8, x0 + 9:x0 + 17] = 1, 2
        if t in (3, 4):                  # the gap filled: one object
            movie[t, 2:8, x0:x0 + 17] = 1
    still = movie.copy()
    assert split_merged(still, moved=False) == []
    assert split_merged(movie) == [3, 4]
    assert [len(np.unique(f[f > 0])) for f in movie] == [2] * 7

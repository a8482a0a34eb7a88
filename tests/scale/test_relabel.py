"""The lazy tracked label movie (celldyn.scale.relabel_lazy) and the CTC writer of lazy
movies: the same pixels and the same files as the in-memory path."""

import numpy as np
import pandas as pd

from celldyn.io import write_ctc_result
from celldyn.scale import relabel_lazy
from celldyn.track.graph import relabel_by_tracklet


def _movie(rng):
    labels = rng.integers(0, 7, size=(9, 20, 24)).astype(np.int32)
    labels[4] = 0  # an empty frame
    t, seg = np.nonzero(np.stack([np.bincount(f.ravel(), minlength=7) for f in labels]))
    keep = (seg > 0) & ~((t == 2) & (seg == 3))  # an object that is no node: background
    t, seg = t[keep], seg[keep]
    tid = (seg * 10 + t % 3 + 1).astype(np.int64)
    return labels, (t, seg, tid)


def test_relabel_lazy_paints_what_relabel_by_tracklet_paints():
    import dask.array as da

    labels, nodes = _movie(np.random.default_rng(0))
    want = relabel_by_tracklet(labels, nodes=nodes)
    assert (want[2] == 0).sum() > (labels[2] == 0).sum()  # the non-node became background
    for chunks in [(1, 20, 24), (4, 20, 24), (2, 7, 11)]:  # frames, chunks, blocks
        lazy = relabel_lazy(da.from_array(labels, chunks=chunks), nodes)
        assert lazy.dtype == np.int32
        np.testing.assert_array_equal(lazy.compute(scheduler="sync"), want)
    np.testing.assert_array_equal(relabel_lazy(labels, nodes).compute(), want)  # numpy in


def test_ctc_masks_of_a_lazy_movie_are_the_same_files(tmp_path):
    import dask.array as da

    labels, nodes = _movie(np.random.default_rng(1))
    tracked = relabel_by_tracklet(labels, nodes=nodes)
    ids = np.unique(tracked[tracked > 0])
    table = pd.DataFrame({
        "label": ids,
        "begin": [int(np.flatnonzero((tracked == i).any(axis=(1, 2)))[0]) for i in ids],
        "end": [int(np.flatnonzero((tracked == i).any(axis=(1, 2)))[-1]) for i in ids],
        "parent": 0})
    write_ctc_result(tmp_path / "numpy", tracked, table, check=False)
    write_ctc_result(tmp_path / "lazy", da.from_array(tracked, chunks=(2, 10, 24)), table,
                     check=False)
    names = sorted(p.name for p in (tmp_path / "numpy").iterdir())
    assert len(names) == 10 and names == sorted(p.name for p in (tmp_path / "lazy").iterdir())
    for name in names:
        assert (tmp_path / "numpy" / name).read_bytes() == (tmp_path / "lazy" / name).read_bytes()

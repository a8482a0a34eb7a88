"""GEFF export of the tracks graph (celldyn.io.geff), checked with geff's validators."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from celldyn.errors import FileFormatError, InputError
from celldyn.io import read_geff, write_geff


def _graph(ndim=2, gap=False):
    """Track 1 (t=0,1) divides into 2 and 3 (t=2,3); optionally 3 skips frame 3."""
    g = nx.DiGraph()
    pos = ["y", "x"] if ndim == 2 else ["z", "y", "x"]
    nodes = [
        (0, 0, 1, 1),
        (1, 1, 1, 1),
        (2, 2, 1, 2),
        (3, 2, 2, 3),
        (4, 3, 1, 2),
        (5, 3 + gap, 2, 3),
    ]
    for n, t, seg, tid in nodes:
        g.add_node(
            n,
            t=t,
            seg_id=seg,
            tracklet=tid,
            **{a: float(n + i) for i, a in enumerate(pos)},
        )
    g.add_edges_from([(0, 1), (1, 2), (1, 3), (2, 4), (3, 5)])
    if gap:
        g.nodes[5]["tracklet"] = 4
    return g


@pytest.mark.parametrize("ndim", [2, 3], ids=["2d", "3d"])
def test_geff_round_trip_and_validators(tmp_path, ndim):
    import geff
    from geff.validate.data import ValidationConfig

    g = _graph(ndim)
    spacing = (0.5,) * ndim
    path = tmp_path / "tracks.geff"
    write_geff(path, g, spacing=spacing, frame_interval=300.0)
    geff.validate_structure(str(path))
    _, meta = geff.read(
        str(path), data_validation=ValidationConfig(graph=True, tracklet=True)
    )
    assert meta.track_node_props == {"tracklet": "tracklet"}
    axes = {a.name: a for a in meta.axes}
    assert axes["t"].type == "time" and axes["t"].scaled_unit == "second"
    assert axes["x"].type == "space" and axes["x"].unit == "pixel"
    assert axes["x"].scaled_unit == "micrometer" and axes["x"].scale == 0.5

    back = read_geff(path)
    assert isinstance(back, nx.DiGraph)
    assert sorted(back.edges) == sorted(g.edges)
    for n, d in g.nodes(data=True):
        assert back.nodes[n] == pytest.approx(d)
    assert back.graph["spacing"] == spacing and back.graph["frame_interval"] == 300.0
    assert back.graph["axis_names"] == ["t", *["z", "y", "x"][-ndim:]]


def test_geff_invalid_tracklets_not_declared(tmp_path):
    import geff

    g = _graph(gap=True)
    g.nodes[5]["tracklet"] = 2  # two branches share an id: not a geff tracklet
    path = tmp_path / "g.geff"
    write_geff(path, g)
    _, meta = geff.read(str(path))
    assert meta.track_node_props is None
    back = read_geff(path)
    assert back.nodes[5]["tracklet"] == 2 and back.nodes[5]["t"] == 4
    assert back.graph["spacing"] is None and back.graph["frame_interval"] is None


def test_geff_errors(tmp_path):
    g = _graph()
    del g.nodes[2]["x"]
    with pytest.raises(InputError, match="lack axis attributes"):
        write_geff(tmp_path / "g.geff", g)
    with pytest.raises(InputError, match="spacing must have 2"):
        write_geff(tmp_path / "g.geff", _graph(), spacing=(1.0, 1.0, 1.0))
    assert not (tmp_path / "g.geff").exists()
    (tmp_path / "bad.geff").mkdir()
    with pytest.raises(FileFormatError, match="not a valid GEFF store"):
        read_geff(tmp_path / "bad.geff")
    with pytest.raises(FileFormatError, match="does not exist"):
        read_geff(tmp_path / "none.geff")


def test_geff_spatial_axis_names(tmp_path):
    import geff

    path = tmp_path / "g.geff"
    write_geff(path, _graph(), axis_names=["y", "x"], spacing=(0.2, 0.3))
    _, meta = geff.read(str(path))
    assert [a.name for a in meta.axes] == ["t", "y", "x"]
    assert read_geff(path).graph["spacing"] == (0.2, 0.3)
    with pytest.raises(InputError, match="spatial axes"):
        write_geff(path, _graph(), axis_names=["q"])


def test_geff_overwrite(tmp_path):
    path = tmp_path / "g.geff"
    write_geff(path, _graph())
    g = _graph()
    g.remove_node(5)
    write_geff(path, g)
    assert read_geff(path).number_of_nodes() == 5
    with pytest.raises(FileExistsError):
        write_geff(path, g, overwrite=False)
    assert np.isfinite(read_geff(path).nodes[0]["x"])


@pytest.mark.parametrize("ndim", [2, 3], ids=["2d", "3d"])
def test_geff_from_columns_is_the_same_store_as_from_networkx(tmp_path, ndim):
    """write_geff_table (the pipeline's columnar path) writes the bytes write_geff does."""
    import pandas as pd

    from celldyn.io import write_geff_table
    from celldyn.track.graph import graph_arrays

    g = _graph(ndim=ndim, gap=True)
    pos = ["y", "x"] if ndim == 2 else ["z", "y", "x"]
    nodes, _, edges = graph_arrays(g)
    table = pd.DataFrame([{k: g.nodes[n][k] for k in ("t", "seg_id", *pos, "tracklet")}
                          for n in nodes])
    write_geff(tmp_path / "a.geff", g, axis_names=pos, spacing=[0.5] * ndim, frame_interval=30)
    write_geff_table(tmp_path / "b.geff", table, edges, axis_names=pos,
                     spacing=[0.5] * ndim, frame_interval=30)
    files = sorted(p.relative_to(tmp_path / "a.geff")
                   for p in (tmp_path / "a.geff").rglob("*") if p.is_file())
    assert files
    for rel in files:
        assert (tmp_path / "a.geff" / rel).read_bytes() == (tmp_path / "b.geff" / rel).read_bytes(), rel
    back = read_geff(tmp_path / "b.geff")
    assert sorted(back.edges) == sorted(g.edges)
    assert dict(back.nodes(data=True)) == dict(g.nodes(data=True))
    with pytest.raises(InputError, match="axis values"):
        write_geff_table(tmp_path / "c.geff", table.drop(columns="x"), edges, axis_names=pos)

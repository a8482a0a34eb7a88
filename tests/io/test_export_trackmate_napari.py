"""TrackMate XML and napari tracks CSV exports read back (issue 17, item 9)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from celldyn.io.napari_tracks import write_napari_tracks
from celldyn.io.trackmate import track_edges, write_trackmate


@pytest.fixture(scope="module")
def result():
    from celldyn.pipeline import run
    from celldyn.simulate import simulate_movie

    sim = simulate_movie(ndim=2, n_frames=12, shape=(96, 96), n_objects=5,
                         division_rate=0.15, rng=3)
    res = run(sim.movie, labels=sim.labels, pixel_size="0.5um", frame_interval="2min")
    assert (res.tracks["parent"] > 0).any(), "the fixture must contain divisions"
    return res


def test_trackmate_xml_schema_spots_and_edges(result, tmp_path):
    path = write_trackmate(tmp_path / "t.xml", result, image_shape=result.labels.shape,
                           source="/data/movie.tif")
    root = ET.parse(path).getroot()
    assert root.tag == "TrackMate" and root.get("version")
    model = root.find("Model")
    assert model.get("spatialunits") == "micron" and model.get("timeunits") == "sec"
    decl = model.find("FeatureDeclarations")
    declared = {f.get("feature") for f in decl.iter("Feature")}
    spots = list(model.find("AllSpots").iter("Spot"))
    # spot count, ids unique, every attribute declared, positions in µm, times in s
    assert int(model.find("AllSpots").get("nspots")) == len(spots) == len(result.objects)
    ids = [int(s.get("ID")) for s in spots]
    assert len(set(ids)) == len(ids)
    for s in spots:
        assert set(s.attrib) - {"ID", "name"} <= declared
    by_id = {int(s.get("ID")): s for s in spots}
    obj = result.objects
    for i in (0, len(obj) // 2, len(obj) - 1):
        s = by_id[i]
        assert float(s.get("POSITION_X")) == pytest.approx(obj["x"].iloc[i] * 0.5, rel=1e-5)
        assert float(s.get("POSITION_T")) == pytest.approx(obj["t"].iloc[i] * 120.0)
        assert int(s.get("FRAME")) == obj["t"].iloc[i]
    for frame in model.find("AllSpots"):
        assert all(s.get("FRAME") == frame.get("frame") for s in frame)
    # edges: the run's links exactly, each forward in time, each inside one track
    edges = [(int(e.get("SPOT_SOURCE_ID")), int(e.get("SPOT_TARGET_ID")))
             for e in model.find("AllTracks").iter("Edge")]
    assert sorted(edges) == sorted(map(tuple, result.edges.tolist()))
    for a, b in edges:
        assert int(by_id[a].get("FRAME")) < int(by_id[b].get("FRAME"))
    tracks = model.find("AllTracks").findall("Track")
    filtered = {t.get("TRACK_ID") for t in model.find("FilteredTracks")}
    assert filtered == {t.get("TRACK_ID") for t in tracks}
    n_div = int((np.bincount(result.edges[:, 0], minlength=len(obj)) == 2).sum())
    assert sum(int(t.get("NUMBER_SPLITS")) for t in tracks) == n_div > 0
    for t in tracks:  # a TrackMate track is a connected lineage: spots = edges + 1
        assert int(t.get("NUMBER_SPOTS")) == len(t.findall("Edge")) + 1
    image = root.find("Settings/ImageData")
    assert image.get("filename") == "movie.tif" and image.get("pixelwidth") == "0.5"
    assert image.get("nframes") == "12" and image.get("timeinterval") == "120"


def test_napari_csv_reads_back(result, tmp_path):
    path = write_napari_tracks(tmp_path / "tracks.csv", result)
    df = pd.read_csv(path)
    assert list(df.columns) == ["track_id", "t", "y", "x", "parent_track_id"]
    assert len(df) == len(result.objects)
    parents = df.groupby("track_id")["parent_track_id"].first()
    expected = result.tracks.set_index("label")["parent"].replace(0, -1)
    assert parents.sort_index().tolist() == expected.sort_index().tolist()
    assert (df.groupby("track_id")["t"].diff().dropna() > 0).all()


def test_track_edges_match_the_run_graph(result):
    assert track_edges(result.objects, result.tracks).tolist() == result.edges.tolist()


def test_export_command(result, tmp_path):
    from celldyn.cli import main
    from celldyn.pipeline import write_run

    folder = write_run(result, tmp_path / "res")
    runner = CliRunner()
    r = runner.invoke(main, ["export", str(folder), "--to", "trackmate"])
    assert r.exit_code == 0, r.output
    root = ET.parse(folder / "tracks.trackmate.xml").getroot()
    assert len(list(root.iter("Spot"))) == len(result.objects)
    r = runner.invoke(main, ["export", str(folder), "--to", "napari", "-o",
                             str(tmp_path / "n.csv")])
    assert r.exit_code == 0 and len(pd.read_csv(tmp_path / "n.csv")) == len(result.objects)
    r = runner.invoke(main, ["export", str(tmp_path), "--to", "napari"])
    assert r.exit_code == 2 and "not a celldyn results folder" in r.output

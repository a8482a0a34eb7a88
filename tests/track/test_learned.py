"""The learned association model: features, training, shipped weights, CLI."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from celldyn.errors import InputError, ModelError
from celldyn.evaluate import evaluate_ctc
from celldyn.measure import measure_objects
from celldyn.simulate import simulate_movie
from celldyn.track import candidate_links
from celldyn.track.graph import (
    assign_tracklets,
    check_ctc_table,
    ctc_table_from_graph,
    graph_from_ctc,
    relabel_by_tracklet,
)
from celldyn.track.learned import (
    FEATURES,
    LearnedAssociation,
    object_scale,
    subsample_ctc,
    track_learned,
)
from celldyn.training import examples_from_gt, held_out_scores, train_association

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def sim():
    return simulate_movie(n_frames=12, shape=(96, 96), n_objects=8, radius=(4, 6),
                          speed=1.5, division_rate=0.08, photons=2000, rng=3)


@pytest.fixture(scope="module")
def examples(sim):
    return examples_from_gt(sim.labels, sim.table, movie=sim.movie.data, name="tiny")


def test_examples_have_all_gt_links(examples):
    assert len(examples) == 2  # with and without mask features
    ex = examples[0]
    assert ex.features.shape == (len(ex.y), len(FEATURES))
    assert ex.recall == 1.0 and 0 < ex.y.sum() < len(ex.y)


def test_training_loss_drops_and_is_deterministic(examples):
    kw = {"epochs": 3, "hidden": 16, "layers": 1, "heads": 2, "seed": 7}
    model, history = train_association(examples, **kw)
    assert history[-1] < history[0]
    again, history2 = train_association(examples, **kw)
    assert history == history2
    for a, b in zip(model.net.state_dict().values(), again.net.state_dict().values()):
        assert torch.equal(a, b)


def test_link_probabilities_shape_and_range(sim, examples):
    model, _ = train_association(examples, epochs=1, hidden=16, layers=1, heads=2)
    objects = measure_objects(sim.labels, sim.movie.data)
    cands = candidate_links(objects, max_distance=2 * object_scale(objects), max_gap=2)
    p = model.link_probabilities(objects, cands, labels=sim.labels)
    assert p.shape == (len(cands),) and p.dtype == np.float64
    assert ((p >= 0) & (p <= 1)).all()
    p_no_masks = model.link_probabilities(objects, cands)
    assert p_no_masks.shape == p.shape


def test_subsample_ctc_is_consistent(sim):
    labels, table = subsample_ctc(sim.labels, sim.table, 2)
    assert labels.shape[0] == (sim.labels.shape[0] + 1) // 2
    check_ctc_table(table)
    graph = graph_from_ctc(labels, table)
    assert graph.number_of_nodes() == len(measure_objects(labels))


def test_held_out_scores_match_divisions_as_evaluate_does(sim):
    """The trainer's held-out division figures are evaluate's (match_divisions, BC(1)):
    tracking the ground truth's own detections, the hand-made tracker finds the
    simulated divisions, and its numbers are those of evaluate.lineage_scores."""
    from celldyn.evaluate import lineage_scores
    from celldyn.track.graph import ctc_table, relabel_by_tracklet, tracklet_ids
    from celldyn.track.lap import lap_links

    s = held_out_scores(sim.labels, sim.table, movie=sim.movie.data, tracker="lap")
    assert s["gt_divisions"] == int((sim.table["parent"] > 0).sum() // 2) > 0
    assert s["div_F1"] > 0.5 and 0 < s["candidate_recall"] <= 1.0
    objects = measure_objects(sim.labels, sim.movie.data)
    edges = lap_links(objects, labels=sim.labels, max_distance=2 * object_scale(objects))
    t, seg = objects["t"].to_numpy(), objects["label"].to_numpy()
    tid = tracklet_ids(t, seg, edges)
    ref = lineage_scores(sim.labels, sim.table,
                         relabel_by_tracklet(sim.labels, nodes=(t, seg, tid)),
                         ctc_table(t, tid, edges))
    for key in ("div_TP", "div_FP", "div_FN", "div_F1", "BC(1)"):
        assert s[key] == pytest.approx(ref[key], nan_ok=True), key


def test_shipped_model_loads_and_tracks(sim):
    model = LearnedAssociation.from_pretrained()
    objects = measure_objects(sim.labels, sim.movie.data)
    md = 2 * object_scale(objects)
    cands = candidate_links(objects, max_distance=md, max_gap=2)
    p = model.link_probabilities(objects, cands, labels=sim.labels)
    assert p.shape == (len(cands),)
    graph = track_learned(objects, labels=sim.labels, movie=sim.movie.data,
                          max_distance=md, model=model)
    assign_tracklets(graph)
    scores = evaluate_ctc(sim.labels, sim.table, relabel_by_tracklet(sim.labels, graph),
                          ctc_table_from_graph(graph))
    assert scores["TRA"] >= 0.97  # measured 1.0 (10/10 divisions) with the shipped model


def test_shipped_model_hash_is_checked(tmp_path):
    from importlib import resources

    src = resources.files("celldyn") / "models" / "tracker"
    dst = tmp_path / "tracker"
    shutil.copytree(str(src), dst)
    with open(dst / "weights.pt", "ab") as fh:
        fh.write(b"\0")
    with pytest.raises(ModelError, match="sha256"):
        LearnedAssociation.load(dst)


def test_cli_train_tracker_writes_model(tmp_path, sim):
    from celldyn.cli.main import main
    from celldyn.io import write_ctc_gt

    write_ctc_gt(tmp_path / "01_GT", sim.labels, sim.table)
    out = tmp_path / "model"
    result = CliRunner().invoke(main, [
        "train", "tracker", "--gt", str(tmp_path / "01_GT"), "--epochs", "1",
        "--subsample", "1", "--out", str(out),
    ])
    assert result.exit_code == 0, result.output
    assert {"weights.pt", "config.json", "CARD.md"} <= {p.name for p in out.iterdir()}
    assert "seed 0" in (out / "CARD.md").read_text()
    LearnedAssociation.load(out)
    again = CliRunner().invoke(main, ["train", "tracker", "--gt", str(tmp_path / "01_GT"),
                                      "--out", str(out)])
    assert again.exit_code == 2 and "--overwrite" in again.output


def test_colony_examples_are_dividing_rods_with_all_gt_links():
    from celldyn.training import colony_examples

    ex = colony_examples(2, seed=3, n_frames=12, shape=(160, 160), steps=(1, 2))
    # per colony and step: with and without the label movie (IoU feature)
    assert [e.name for e in ex] == [
        f"colony-{k}{at}{m}" for k in (3, 4) for at in ("", "@x2") for m in ("", " (no masks)")
    ]
    for e in ex:
        assert e.features.shape == (len(e.y), len(e.features[0])) and e.y.sum() > 0
        assert e.recall == pytest.approx(1.0)  # the radius reaches every GT link
    again = colony_examples(2, seed=3, n_frames=12, shape=(160, 160), steps=(1, 2))
    assert all(np.array_equal(a.features, b.features) and np.array_equal(a.y, b.y)
               for a, b in zip(ex, again))


def test_cli_train_tracker_on_colonies(tmp_path, sim):
    from celldyn.cli.main import main
    from celldyn.io import write_ctc_gt

    write_ctc_gt(tmp_path / "01_GT", sim.labels, sim.table)
    out = tmp_path / "model"
    result = CliRunner().invoke(main, [
        "train", "tracker", "--gt", str(tmp_path / "01_GT"), "--epochs", "1",
        "--subsample", "1", "--colonies", "1", "--out", str(out),
    ])
    assert result.exit_code == 0, result.output
    card = (out / "CARD.md").read_text()
    assert "--colonies 1" in card and "colony-0" in card
    bad = CliRunner().invoke(main, ["train", "tracker", "--gt", str(tmp_path / "01_GT"),
                                    "--colonies", "-1", "--out", str(tmp_path / "m2")])
    assert bad.exit_code == 2 and "--colonies" in bad.output


def test_track_objects_learned_gives_tracks_of_the_learned_links(sim):
    """tracker="learned" through the one entry: the same links as track_learned with
    candidates within 2 x max_distance, returned as Tracks; outside costs refused."""
    from celldyn.track import Tracks, track_objects

    objects = measure_objects(sim.labels, sim.movie.data)
    md = object_scale(objects)
    tracks = track_objects(objects, labels=sim.labels, movie=sim.movie.data,
                           tracker="learned", max_distance=md)
    assert isinstance(tracks, Tracks) and tracks.max_distance == md
    graph = track_learned(objects, labels=sim.labels, movie=sim.movie.data,
                          max_distance=2 * md)
    mapped = {(int(tracks.rows[u]), int(tracks.rows[v])) for u, v in tracks.edges}
    assert mapped == set(graph.edges) and len(mapped) > 0
    with pytest.raises(InputError, match="own candidates"):
        track_objects(objects, tracker="learned", max_distance=md,
                      edge_costs=np.zeros(3))

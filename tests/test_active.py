"""Active learning (issue 18): TTA uncertainty, diversity, ``celldyn annotate-next`` and
``celldyn train segment --continue``. Tiny simulated movies; the shipped nuclei2d."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tifffile

pytest.importorskip("torch")

from test_bench import assert_user_error, invoke

from celldyn.active import (
    DEFAULT_MODEL,
    propose_crops,
    select_diverse,
    select_typical,
    tta_maps,
)
from celldyn.segment.deep.registry import load_segmenter


@pytest.fixture(scope="module")
def sim():
    from celldyn.simulate import simulate_movie

    return simulate_movie(ndim=2, n_frames=3, shape=(96, 96), n_objects=8, rng=2)


def test_tta_is_equivariant_and_measures_disagreement(sim):
    """The mean over the eight square symmetries is itself symmetric: rotating the
    input rotates the maps (up to float error); one pose has no disagreement."""
    from celldyn.segment import normalize_frame

    net = load_segmenter("nuclei2d").net
    img = normalize_frame(sim.movie.data[0])
    prob, dist, dis = tta_maps(net, img)
    assert prob.shape == (3, 96, 96) and dist.shape == dis.shape == (96, 96)
    prob_r, _, dis_r = tta_maps(net, np.ascontiguousarray(np.rot90(img)))
    np.testing.assert_allclose(prob_r, np.rot90(prob, axes=(1, 2)), atol=1e-4)
    np.testing.assert_allclose(dis_r, np.rot90(dis), atol=1e-4)
    assert dis.max() > 0
    _, _, none = tta_maps(net, img, n_aug=1)
    assert not none.any()


def test_selection_prefers_uncertain_and_diverse():
    emb = np.array([[0.0, 0.0], [0.0, 0.01], [5.0, 5.0], [0.01, 0.0]])
    # 1 and 3 are near-duplicates of 0; 2 is far and almost as uncertain
    assert select_diverse([0.9, 0.89, 0.8, 0.88], emb, 2) == [0, 2]
    # with identical embeddings nothing is gained by spreading: by uncertainty order
    assert select_diverse([0.1, 0.3, 0.2], np.zeros((3, 1)), 1) == [1]


def _blobs(rng):
    """Three clusters in 8-D (30, 12 and 6 points) and two lone outliers."""
    centres = np.array([[0.0] * 8, [6.0] + [0.0] * 7, [0.0, 6.0] + [0.0] * 6])
    emb = np.concatenate([c + rng.normal(0, 0.5, (k, 8))
                          for c, k in zip(centres, (30, 12, 6), strict=True)]
                         + [np.full((2, 8), 15.0) + rng.normal(0, 3, (2, 8))])
    group = np.repeat([0, 1, 2, 3], (30, 12, 6, 2))
    return emb, group, centres


def test_cold_start_picks_typical_crops_of_distinct_clusters():
    """Nothing annotated: one crop per cluster, largest clusters first, each the most
    typical of its cluster, never the outliers however uncertain they are."""
    emb, group, centres = _blobs(np.random.default_rng(0))
    u = np.full(len(emb), 0.1)
    u[group == 3] = 1.0                              # the model's favourite outliers
    picks = select_typical(u, emb, 3)
    assert [int(group[i]) for i in picks] == [0, 1, 2]
    for i in picks:                                  # near the centre of its cluster
        own = np.flatnonzero(group == group[i])
        to_centre = np.linalg.norm(emb[own] - centres[group[i]], axis=1)
        assert np.linalg.norm(emb[i] - centres[group[i]]) <= np.quantile(to_centre, 0.5)
    # plain uncertainty sampling (the earlier rule) starts on an outlier
    assert group[select_diverse(u, emb, 3)[0]] == 3
    assert select_typical(u, emb, 3) == picks        # deterministic


def test_later_rounds_weigh_uncertainty_by_density_and_skip_covered_clusters():
    emb, group, _ = _blobs(np.random.default_rng(1))
    rng = np.random.default_rng(2)
    u = rng.uniform(0.0, 0.2, len(emb))
    u[group == 3] = 1.0
    hot = np.flatnonzero(group == 1)[3]
    u[hot] = 0.9                                     # the model is unsure here
    annotated = emb[group == 0][:1] + 0.01           # cluster 0 is annotated already
    picks = select_typical(u, emb, 2, annotated=annotated)
    assert hot in picks                              # uncertainty counts ...
    assert not any(group[i] in (0, 3) for i in picks)   # ... but not in covered
    assert len({int(group[i]) for i in picks}) == 2     # or sparse places; distinct
    # with no density weight the outliers would win: they are the most uncertain
    assert u[group == 3].min() > u[picks].max()


def test_proposals_skip_excluded_crops(sim):
    assert DEFAULT_MODEL == __import__("celldyn.segment.auto", fromlist=["x"]).GENERALIST
    props, info = propose_crops(sim.movie, model="nuclei2d", n=2, crop=48, diameter=None,
                                n_aug=2)
    assert info["candidates"] == 12 and len(props) == 2
    assert info["annotated_before"] == 0 and info["selection"].startswith("typicality")
    done = [(p.frame, *p.box) for p in props]
    again, info2 = propose_crops(sim.movie, model="nuclei2d", n=2, crop=48, diameter=None,
                                 n_aug=2, exclude=done)
    assert info2["candidates"] == 10 and info2["annotated_before"] == 2
    assert not {(p.frame, p.box) for p in again} & {(p.frame, p.box) for p in props}


def test_annotate_next_then_continue_training(sim, tmp_path):
    from celldyn.io import write_tiff

    write_tiff(tmp_path / "movie.ome.tif", sim.movie)
    out = tmp_path / "round1"
    r = invoke("annotate-next", tmp_path / "movie.ome.tif", "-n", "3", "--crop", "48",
               "--diameter", "12", "--n-aug", "2", "-o", out, "--no-progress")
    assert r.exit_code == 0, r.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["model"] == DEFAULT_MODEL and len(manifest["proposals"]) == 3
    for p in manifest["proposals"]:
        img = tifffile.imread(out / "images" / f"{p['name']}.tif")
        lab = tifffile.imread(out / "labels" / f"{p['name']}.tif")
        y0, x0, y1, x1 = p["box"]
        np.testing.assert_array_equal(img, sim.movie.data[p["frame"], y0:y1, x0:x1])
        assert lab.shape == img.shape and lab.dtype == np.uint16
    # the annotator corrects one crop: the simulated truth
    p = manifest["proposals"][0]
    y0, x0, y1, x1 = p["box"]
    tifffile.imwrite(out / "labels" / f"{p['name']}.tif",
                     sim.labels[p["frame"], y0:y1, x0:x1].astype(np.uint16))
    r = invoke("train", "segment", "--continue", out, "--epochs", "1", "--iters", "1",
               "--batch", "2", "--crop", "32", "--no-progress")
    assert r.exit_code == 0, r.stderr
    model = load_segmenter(out / "model")
    card = json.loads((out / "model" / "config.json").read_text())
    assert card["training"]["init"] == DEFAULT_MODEL   # what annotate-next proposed with
    assert model.net.base == load_segmenter(DEFAULT_MODEL).net.base
    assert "polarity" not in card   # trained on raw crops: `run --dark-objects` won't invert
    # crops of a dark-object movie are trained inverted: the model is marked as reading
    # bright objects, so that `run --dark-objects` inverts for it too
    manifest["dark_objects"] = True
    (out / "manifest.json").write_text(json.dumps(manifest))
    r = invoke("train", "segment", "--continue", out, "--out", tmp_path / "dark",
               "--epochs", "1", "--iters", "1", "--batch", "2", "--crop", "32",
               "--no-progress")
    assert r.exit_code == 0, r.stderr
    assert json.loads((tmp_path / "dark" / "config.json").read_text())["polarity"] == "bright"
    # a crop whose label was saved at another size: one line
    tifffile.imwrite(out / "labels" / f"{p['name']}.tif", np.zeros((5, 5), np.uint16))
    r = invoke("train", "segment", "--continue", out, "--out", tmp_path / "m2",
               "--epochs", "1", "--iters", "1")
    assert_user_error(r, "keep the crop's size")


def test_proposals_of_a_plain_array(sim):
    """An ndarray movie works as a Movie does (not its ``.data`` buffer)."""
    props, _ = propose_crops(np.asarray(sim.movie.data), n=1, crop=48, diameter=None,
                             n_aug=2)
    assert len(props) == 1 and props[0].image.shape == (48, 48)


def test_write_corrected_labels(tmp_path):
    """Corrections are saved over labels/NAME.tif; another size or name is one line."""
    from celldyn.active import Proposal, write_corrected_labels, write_proposals
    from celldyn.errors import InputError

    z = np.zeros((8, 8), np.uint16)
    p = Proposal("c0", 0, (0, 0, 8, 8), 0.1, 0, image=z, labels=z,
                 disagreement=z.astype(np.float32))
    folder = write_proposals(tmp_path / "r", [p], {"model": "nuclei2d"})
    fixed = np.zeros((8, 8), np.int32)
    fixed[2:5, 2:5] = 1
    write_corrected_labels(folder, {"c0": fixed})
    np.testing.assert_array_equal(tifffile.imread(folder / "labels" / "c0.tif"), fixed)
    with pytest.raises(InputError, match="keep the crop's size"):
        write_corrected_labels(folder, {"c0": fixed[:4]})
    with pytest.raises(InputError, match="no crop"):
        write_corrected_labels(folder, {"c9": fixed})


def test_training_on_uncorrected_proposals_is_warned(tmp_path, recwarn):
    """train segment --continue reads the crops: where none was edited since it was
    proposed (the same content, even saved again), it warns once; one edit is enough."""
    from celldyn.active import (
        Proposal,
        read_annotations,
        write_corrected_labels,
        write_proposals,
    )

    lab = np.zeros((8, 8), np.uint16)
    lab[1:4, 1:4] = 1
    props = [Proposal(f"c{i}", i, (0, 0, 8, 8), 0.1, 1, image=lab.astype(np.float32),
                      labels=lab, disagreement=lab.astype(np.float32)) for i in range(2)]
    folder = write_proposals(tmp_path / "r", props, {"model": "nuclei2d"})
    write_corrected_labels(folder, {"c0": lab.astype(np.int32)})   # saved, not changed
    with pytest.warns(UserWarning, match="none of the 2 label crops was edited"):
        read_annotations([folder])
    fixed = lab.astype(np.int32)
    fixed[5:7, 5:7] = 2                                              # one object added
    write_corrected_labels(folder, {"c1": fixed})
    recwarn.clear()
    pairs, _ = read_annotations([folder])
    assert len(pairs) == 2 and not [w for w in recwarn if "edited" in str(w.message)]

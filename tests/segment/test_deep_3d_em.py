"""The 3D nuclei and EM semantic models: their one-command training (tiny, seeded),
the shipped ``nuclei3d`` / ``mito_em`` on real crops, and the class map a run writes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
tifffile = pytest.importorskip("tifffile")

from click.testing import CliRunner

from celldyn.cli import main

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"

SPLIT_BODY = '''
SEGMENTATION = {
    "seg-PlantSeg-3D-nuclei": Split("seg-PlantSeg-3D-nuclei", "image", train=("a",),
                                    validation=("b",), test=("c",)),
    "seg-EM-drosophila-vnc-mito": Split("seg-EM-drosophila-vnc-mito", "image",
                                        train=("s0", "s1"), validation=("s2",),
                                        test=("s3",)),
}
'''


def _balls(shape, n, rng, radius=(4, 2, 2)):
    """A ZYX image of `n` bright ellipsoids and their instance labels."""
    zz, yy, xx = np.indices(shape)
    labels = np.zeros(shape, np.uint16)
    for i in range(1, n + 1):
        c = [rng.uniform(r, s - r) for r, s in zip(radius, shape)]
        d = sum(((g - cc) / (2 * r)) ** 2 for g, cc, r in zip((zz, yy, xx), c, radius))
        labels[(d < 1) & (labels == 0)] = i
    image = (40 + 150 * (labels > 0) + rng.normal(0, 10, shape)).clip(0, 255)
    return image.astype(np.uint8), labels


@pytest.fixture(scope="module")
def data_root(tmp_path_factory, split_header):
    root = tmp_path_factory.mktemp("data")
    rng = np.random.default_rng(0)
    d3 = root / "seg-PlantSeg-3D-nuclei"
    for sub in ("images", "masks"):
        (d3 / sub).mkdir(parents=True)
    (d3 / "index.csv").write_text("file_stem,voxel_size_um_zyx\n" + "".join(
        f"{n},0.5 0.25 0.25\n" for n in "abc"))
    for n in "abc":
        img, lab = _balls((8, 32, 32), 5, rng)
        tifffile.imwrite(d3 / "images" / f"{n}.tif", img)
        tifffile.imwrite(d3 / "masks" / f"{n}.tif", lab)
    em = root / "seg-EM-drosophila-vnc-mito"
    for sub in ("images", "masks", "masks_semantic"):
        (em / sub).mkdir(parents=True)
    for k in range(4):
        img2, lab2 = _balls((1, 48, 48), 4, rng, radius=(0.5, 6, 6))
        classes = np.where(lab2[0] > 0, 3, 0).astype(np.uint8)
        classes[::12, :] = 1                             # "membranes": dark lines
        img = np.where(classes == 1, 20, 255 - img2[0]).astype(np.uint8)
        tifffile.imwrite(em / "images" / f"s{k}.tif", img)
        tifffile.imwrite(em / "masks_semantic" / f"s{k}.tif", classes)
        tifffile.imwrite(em / "masks" / f"s{k}.tif", lab2[0] * (classes == 3))
    (root / "splits.py").write_text(split_header + SPLIT_BODY)
    return root


def _train(root, set_name, out, *extra):
    args = ["train", "segment", "--splits", str(root / "splits.py"), "--data", str(root),
            "--set", set_name, "--out", str(out), "--epochs", "1", "--iters", "2",
            "--batch", "2", "--crop", "16", "--base", "4", "--depth", "1", "--seed", "3",
            "--no-progress", *extra]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    return json.loads((out / "config.json").read_text())


def test_train_3d_set_is_deterministic_and_records_anisotropy(data_root, tmp_path):
    a = _train(data_root, "seg-PlantSeg-3D-nuclei", tmp_path / "a", "--z-crop", "6")
    b = _train(data_root, "seg-PlantSeg-3D-nuclei", tmp_path / "b", "--z-crop", "6")
    assert a["sha256"] == b["sha256"]
    assert a["architecture"]["ndim"] == 3 and a["axes"] == "ZYX"
    assert a["voxel_size_um"] == [0.5, 0.25, 0.25]
    assert a["training"]["config"]["sampling"] == [2.0, 1.0, 1.0]
    from celldyn.segment.deep import load_segmenter

    seg = load_segmenter(tmp_path / "a")
    vol = tifffile.imread(data_root / "seg-PlantSeg-3D-nuclei" / "images" / "c.tif")
    out = seg.segment(vol, spacing=(0.5, 0.25, 0.25))
    assert out.shape == vol.shape and out.dtype == np.int32
    # a stack with twice as fine Z is resampled to the model's grid and back
    fine = np.repeat(vol, 2, axis=0)
    assert seg.segment(fine, spacing=(0.25, 0.25, 0.25)).shape == fine.shape


def test_train_semantic_set_is_deterministic(data_root, tmp_path):
    a = _train(data_root, "seg-EM-drosophila-vnc-mito", tmp_path / "a")
    b = _train(data_root, "seg-EM-drosophila-vnc-mito", tmp_path / "b")
    assert a["sha256"] == b["sha256"]
    assert a["task"] == "semantic" and a["architecture"]["out_channels"] == 5
    assert a["classes"][a["instance_class"]] == "mitochondria"
    hist = a["training"]["history"]
    assert "val_miou" in hist[-1] and 0.0 <= hist[-1]["val_miou"] <= 1.0
    th = json.loads((tmp_path / "a" / "thresholds.json").read_text())
    assert th["min_size"] >= 0
    # the weights of the training classes: rarer classes weigh more
    w = a["training"]["config"]["class_weights"]
    assert len(w) == 5 and w[3] > w[0]


def test_semantic_scores_and_instances():
    from celldyn.segment.deep.semantic import (
        class_scores,
        confusion,
        instances_of_class,
    )

    truth = np.array([[0, 0, 3, 3], [1, 1, 3, 3]])
    pred = np.array([[0, 1, 3, 3], [1, 1, 3, 0]])
    conf = confusion(truth, pred, 5)
    assert conf.sum() == 8 and conf[3, 3] == 3 and conf[3, 0] == 1
    sc = class_scores(conf)
    assert sc["iou"][3] == 0.75 and np.isnan(sc["iou"][4])
    lab = instances_of_class(np.array([[3, 0, 3], [0, 3, 0], [0, 0, 0]]), 3)
    assert lab.max() == 1                                # 8-connected: one object
    assert instances_of_class(np.array([[3, 0, 0], [0, 0, 3]]), 3, min_size=2).max() == 0


@pytest.mark.skipif(not (DATA / "seg-PlantSeg-3D-nuclei").is_dir(), reason="no shared data")
def test_shipped_nuclei3d_on_a_crop():
    from celldyn.segment.deep import load_segmenter

    seg = load_segmenter("nuclei3d")
    assert seg.ndim == 3 and not seg.semantic
    vol = tifffile.imread(DATA / "seg-PlantSeg-3D-nuclei" / "images" / "1136_mini.tif")
    crop = vol[30:54, 20:84, 20:84]
    out = seg.segment(crop, spacing=tuple(seg.config["voxel_size_um"]))
    assert out.shape == crop.shape and out.dtype == np.int32
    assert 1 <= out.max() <= 40                            # nuclei, not noise


@pytest.mark.skipif(not (DATA / "seg-EM-drosophila-vnc-mito").is_dir(), reason="no shared data")
def test_shipped_mito_em_and_the_run_writes_the_class_map(tmp_path):
    from celldyn import pipeline
    from celldyn.movie import Movie
    from celldyn.segment.deep import load_segmenter

    seg = load_segmenter("mito_em")
    assert seg.semantic and seg.classes[3] == "mitochondria"
    frames = [tifffile.imread(DATA / "seg-EM-drosophila-vnc-mito" / "images" / f"s{k}.tif")
              [:96, :96] for k in (17, 18)]
    classes = seg.classify(frames[0])
    assert classes.shape == (96, 96) and classes.dtype == np.uint8 and classes.max() < 5
    movie = Movie(np.stack(frames), "TYX")
    result = pipeline.run(movie, segmenter="deep", model="mito_em")
    sem = result.semantic["semantic"]
    assert sem.shape == movie.data.shape and sem.dtype == np.uint8
    np.testing.assert_array_equal(sem[0], classes)
    # the objects are the mitochondria of the class map
    assert ((result.labels > 0) <= (sem == 3)).all()
    folder = pipeline.write_run(result, tmp_path / "run")
    written = tifffile.imread(folder / "semantic.ome.tif")
    np.testing.assert_array_equal(written, sem)
    record = json.loads((folder / "run.json").read_text())
    assert record["semantic"]["classes"][3] == "mitochondria"
    assert record["semantic"]["objects_are"] == "mitochondria"


def test_models_command_lists_the_shipped_models_with_their_cards():
    res = CliRunner().invoke(main, ["models"])
    assert res.exit_code == 0, res.output
    lines = {ln.split()[0]: ln for ln in res.output.splitlines() if ln.strip()}
    assert "3D convolutions" in lines["nuclei3d"]
    assert "semantic" in lines["mito_em"]
    card = CliRunner().invoke(main, ["models", "mito_em"])
    assert card.exit_code == 0 and "## Limits" in card.output
    bad = CliRunner().invoke(main, ["models", "nope"])
    assert bad.exit_code != 0 and "unknown model" in bad.output
    assert "Traceback" not in bad.output

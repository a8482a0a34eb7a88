"""``celldyn train segment --splits``: the generalist recipe on a tiny split file."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
tifffile = pytest.importorskip("tifffile")

from click.testing import CliRunner

from celldyn.cli import main

SPLIT_BODY = '''
SEGMENTATION = {
    "seg-rods": Split("seg-rods", "image", train=("a", "b"), validation=("c",),
                      test=("d",)),
    "seg-blobs": Split("seg-blobs", "region", train=("x[0:48,:]",),
                       validation=("x[48:,:]",)),
}
'''


def _write_set(folder, names, rods, rng):
    (folder / "images").mkdir(parents=True)
    (folder / "masks").mkdir()
    for name in names:
        img = rng.normal(0.1, 0.02, (64, 64)).astype(np.float32)
        lab = np.zeros((64, 64), dtype=np.uint16)
        for k in range(4):
            y, x = 8 + 14 * k, int(rng.integers(8, 40))
            if rods:
                lab[y:y + 5, x:x + 18] = k + 1
            else:
                lab[y:y + 10, x:x + 10] = k + 1
        img[lab > 0] += 0.8
        tifffile.imwrite(folder / "images" / f"{name}.tif", img)
        tifffile.imwrite(folder / "masks" / f"{name}.tif", lab)


@pytest.fixture(scope="module")
def data(tmp_path_factory, split_header):
    d = tmp_path_factory.mktemp("splitdata")
    rng = np.random.default_rng(0)
    _write_set(d / "seg-rods", "abcd", True, rng)
    _write_set(d / "seg-blobs", "x", False, rng)
    (d / "splits.py").write_text(split_header + SPLIT_BODY)
    return d


def _args(d, out, *extra):
    return ["train", "segment", "--splits", str(d / "splits.py"), "--data", str(d),
            "--out", str(out), "--epochs", "2", "--iters", "2", "--batch", "2",
            "--crop", "32", "--base", "4", "--depth", "2", "--no-progress", *extra]


def test_train_from_splits_resumes_deterministically(data):
    torch.set_num_threads(1)
    out = data / "m1"
    r = CliRunner().invoke(main, _args(data, out))
    assert r.exit_code == 0, r.output
    assert "from 2 sets" in r.output
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["training"]["sets"] == ["seg-blobs", "seg-rods"]
    assert cfg["training"]["n_train_images"] == 3          # a, b and region x[0:48]
    assert cfg["training"]["n_validation_images"] == 2
    # resuming the finished run from its checkpoint gives the same weights
    r2 = CliRunner().invoke(main, _args(data, data / "m2", "--checkpoint-dir",
                                        str(out / "checkpoints"), "--resume"))
    assert r2.exit_code == 0, r2.output
    a = torch.load(out / "weights.pt", weights_only=True)
    b = torch.load(data / "m2" / "weights.pt", weights_only=True)
    assert all(torch.equal(a[k], b[k]) for k in a)
    # stopped after epoch 1, then resumed to the end: the same last weights as one run
    r4 = CliRunner().invoke(main, _args(data, data / "m4", "--stop-after", "1"))
    assert r4.exit_code == 0, r4.output
    assert json.loads((data / "m4" / "config.json").read_text())["training"]["stop_after"] == 1
    r5 = CliRunner().invoke(main, _args(data, data / "m5", "--checkpoint-dir",
                                        str(data / "m4" / "checkpoints"), "--resume"))
    assert r5.exit_code == 0, r5.output
    la = torch.load(out / "checkpoints" / "last.pt", weights_only=True)["model"]
    lb = torch.load(data / "m4" / "checkpoints" / "last.pt", weights_only=True)["model"]
    assert all(torch.equal(la[k], lb[k]) for k in la)
    # leave-one-set-out drops that set from training
    r3 = CliRunner().invoke(main, _args(data, data / "m3", "--exclude", "seg-blobs",
                                        "--epochs", "1"))
    assert r3.exit_code == 0, r3.output
    cfg3 = json.loads((data / "m3" / "config.json").read_text())
    assert cfg3["training"]["sets"] == ["seg-rods"]


def test_train_from_splits_user_errors(data, tmp_path):
    r = CliRunner().invoke(main, ["train", "segment", "--splits", str(tmp_path / "no.py"),
                                  "--out", str(tmp_path / "m")])
    assert r.exit_code == 2 and "does not exist" in r.output
    r = CliRunner().invoke(main, _args(data, tmp_path / "m", "--exclude", "nope"))
    assert r.exit_code == 2 and "'nope' is not a set" in r.output
    r = CliRunner().invoke(main, ["train", "segment", "--out", str(tmp_path / "m")])
    assert r.exit_code == 2 and "--images and --masks" in r.output

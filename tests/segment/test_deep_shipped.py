"""The shipped ``nuclei2d`` model: hash, card, config, and its stored test output."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from celldyn.errors import ModelError
from celldyn.segment.deep import SHIPPED, load_segmenter, segment_movie_deep
from celldyn._weights import sha256_file as _sha256
from celldyn.segment.deep.registry import model_folder

REFERENCE = Path(__file__).with_name("nuclei2d_reference.json")


def test_shipped_files_hash_and_card():
    folder = model_folder("nuclei2d")
    assert (folder / "weights.pt").stat().st_size < 20e6
    assert _sha256(folder / "weights.pt") == SHIPPED["nuclei2d"]["sha256"]
    card = (folder / "CARD.md").read_text()
    for field in ("## Data and split", "## Command and seed", "## Held-out scores",
                  "## Limits", "benchmarks/segmentation.py --train-shipped", "seed 0"):
        assert field in card, field
    cfg = json.loads((folder / "config.json").read_text())
    assert cfg["axes"] == "YX" and cfg["training"]["seed"] == 0
    th = json.loads((folder / "thresholds.json").read_text())
    assert {"fg_threshold", "marker_threshold", "min_size"} <= set(th)


def test_tampered_weights_are_refused(tmp_path):
    import shutil

    folder = tmp_path / "m"
    shutil.copytree(model_folder("nuclei2d"), folder)
    load_segmenter(folder)                       # its own config.json hash matches
    with open(folder / "weights.pt", "ab") as fh:
        fh.write(b"\0")
    with pytest.raises(ModelError, match="sha256"):
        load_segmenter(folder)
    with pytest.raises(ModelError, match="unknown segmentation model"):
        load_segmenter(tmp_path / "nothing")


def test_shipped_model_reproduces_reference(shared_data):
    """Stored output on a held-out DSB2018 crop (right half): object count and AP."""
    import tifffile

    from celldyn.segment.deep.metrics import average_precision

    torch.set_num_threads(2)
    ref = json.loads(REFERENCE.read_text())
    root = shared_data / "nuclei-seg-stardist" / "2d_DSB2018"
    ys, xs = slice(*ref["rows"]), slice(*ref["cols"])
    img = tifffile.imread(root / "img2d.tif")[ys, xs]
    gt = tifffile.imread(root / "mask2d.tif")[ys, xs]
    labels = segment_movie_deep(img[None], model="nuclei2d", diameter=ref["diameter"])[0]
    assert labels.dtype == np.int32
    assert int(labels.max()) == ref["n_objects"]
    ap = average_precision([(gt, labels)], (0.5,))[0.5]
    assert ap == pytest.approx(ref["ap50"], abs=0.02)
    np.testing.assert_array_equal(
        labels, segment_movie_deep(img[None], model="nuclei2d", diameter=ref["diameter"])[0])


def test_wrong_dimensionality_is_an_input_error():
    from celldyn.errors import InputError

    with pytest.raises(InputError, match="TYX"):
        segment_movie_deep(np.zeros((2, 3, 16, 16), np.float32), model="nuclei2d")


if __name__ == "__main__":      # regenerate the stored output after retraining
    import tifffile

    from celldyn.segment.deep.metrics import average_precision

    torch.set_num_threads(2)
    root = Path(__file__).resolve().parents[3] / "shared" / "data" / "nuclei-seg-stardist"
    ref = {"rows": [128, 256], "cols": [256, 384], "diameter": 24.0}
    ys, xs = slice(*ref["rows"]), slice(*ref["cols"])
    img = tifffile.imread(root / "2d_DSB2018" / "img2d.tif")[ys, xs]
    gt = tifffile.imread(root / "2d_DSB2018" / "mask2d.tif")[ys, xs]
    lab = segment_movie_deep(img[None], model="nuclei2d", diameter=ref["diameter"])[0]
    ref.update(n_objects=int(lab.max()),
               ap50=round(average_precision([(gt, lab)], (0.5,))[0.5], 4))
    REFERENCE.write_text(json.dumps(ref, indent=1) + "\n")
    print(ref)

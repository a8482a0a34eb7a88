"""The shipped ``generalist2d`` model: pinned weights load, probe settings, a real image."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from celldyn.segment.deep import SHIPPED, load_segmenter
from celldyn.segment.deep.metrics import average_precision


def test_generalist_is_shipped_and_pinned():
    assert "generalist2d" in SHIPPED
    seg = load_segmenter("generalist2d")
    assert seg.ndim == 2 and seg.config["sha256"] == SHIPPED["generalist2d"]["sha256"]
    assert min(seg.config["probe_zooms"]) == 0.125 and max(seg.config["probe_zooms"]) == 4.0
    assert seg.config["probe_min_input"] < seg.config["probe_max_input"]


def test_generalist_segments_the_stardist_test_half():
    """The test half of the stardist DSB2018 image (never trained on): objects found."""
    from pathlib import Path

    import tifffile

    d = Path(__file__).resolve().parents[3] / "shared" / "data" / "nuclei-seg-stardist" \
        / "2d_DSB2018"
    if not d.is_dir():
        pytest.skip("shared data not present")
    torch.set_num_threads(1)
    img = tifffile.imread(d / "img2d.tif")[:256, 256:]
    gt = tifffile.imread(d / "mask2d.tif")[:256, 256:].astype(np.int32)
    seg = load_segmenter("generalist2d")
    labels = seg.segment(img, diameter=23.0)
    ap = average_precision([(gt, labels)], (0.5,))
    assert labels.max() > 10 and ap[0.5] > 0.3

"""The default size filter follows the objects' size (issue 17): fragments of a tenth of
a nucleus go, small nuclei and daughters stay; an explicit min_size still wins."""

from __future__ import annotations

import numpy as np
import pytest

from celldyn.segment.classical import auto_min_size, segment_threshold, segment_watershed


def _frame(rng=0):
    """Six round nuclei (radius 14, ~615 px), two small ones (radius 9, ~250 px, like
    daughters) and twelve bright specks (radius 4, ~50 px)."""
    r = np.random.default_rng(rng)
    img = np.zeros((256, 256), np.float32)
    yy, xx = np.mgrid[:256, :256]
    centres = [(40, 40), (40, 120), (40, 200), (120, 40), (120, 200), (200, 40)]
    for cy, cx in centres:
        img[(yy - cy) ** 2 + (xx - cx) ** 2 < 14**2] = 1.0
    for cy, cx in [(200, 120), (200, 200)]:
        img[(yy - cy) ** 2 + (xx - cx) ** 2 < 9**2] = 1.0
    for k in range(12):
        cy, cx = 90 + 8 * (k % 4) * 3, 80 + 10 * (k // 4) * 3
        img[(yy - cy) ** 2 + (xx - cx) ** 2 < 4**2] = 1.0
    return img + r.normal(0, 0.03, img.shape).astype(np.float32)


@pytest.mark.parametrize("func", [segment_threshold, segment_watershed])
def test_default_drops_fragments_keeps_small_objects(func):
    img = _frame()
    labels = func(img)
    sizes = np.bincount(labels.ravel())[1:]
    assert len(sizes) == 8, sizes          # 6 nuclei + 2 small ones, no specks
    assert sizes.min() > 200
    kept = func(img, min_size=30)          # the explicit old value keeps the specks
    assert kept.max() == 20


def test_auto_min_size_ignores_many_fragments():
    lab = np.zeros((200, 200), np.int32)
    lab[:40, :40] = 1                      # one 1600 px object
    for k in range(30):                    # thirty 36 px fragments
        lab[60 + 6 * (k // 10): 66 + 6 * (k // 10), 6 * (k % 10): 6 * (k % 10) + 6] = k + 2
    lab[100:140, 100:140] = 40             # another 1600 px object
    assert auto_min_size(lab) == int(0.3 * 1600)  # a plain median would give 36

"""``celldyn train segment --images --masks``: how mask files are read (no torch needed)."""

from __future__ import annotations

import warnings

import imageio.v3 as iio
import numpy as np

from celldyn.cli.train_segment import _pairs


def _write(folder, name, image, mask):
    (folder / "img").mkdir(exist_ok=True)
    (folder / "msk").mkdir(exist_ok=True)
    iio.imwrite(folder / "img" / f"{name}.png", image)
    iio.imwrite(folder / "msk" / f"{name}.png", mask)


def _read(folder):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pairs = _pairs(folder / "img", folder / "msk")
    return pairs, [str(w.message) for w in caught]


def test_binary_masks_are_split_into_components_with_one_warning(tmp_path):
    """A 0/255 PNG of two separate blobs (a thresholding tool's export) is two objects,
    not one; one warning for the run however many masks were binary."""
    image = np.random.default_rng(0).integers(0, 200, (40, 40), dtype=np.uint8)
    mask = np.zeros((40, 40), np.uint8)
    mask[5:12, 5:12] = 255
    mask[25:33, 20:30] = 255
    _write(tmp_path, "a", image, mask)
    _write(tmp_path, "b", image, (mask > 0).astype(np.uint8))      # 0/1 as well
    pairs, messages = _read(tmp_path)
    for _, _, lab in pairs:
        assert lab.dtype == np.int32
        assert sorted(np.unique(lab)) == [0, 1, 2]
        assert len(np.unique(lab[5:12, 5:12])) == 1 and len(np.unique(lab[25:33, 20:30])) == 1
        np.testing.assert_array_equal(lab > 0, mask > 0)
    assert len(messages) == 1, messages
    assert "2 of 2 mask files" in messages[0] and "binary" in messages[0]
    assert "connected components" in messages[0] and "touching objects" in messages[0]


def test_label_images_and_single_objects_are_kept_without_warning(tmp_path):
    image = np.random.default_rng(0).integers(0, 200, (40, 40), dtype=np.uint8)
    labels = np.zeros((40, 40), np.uint16)
    labels[5:12, 5:12] = 3
    labels[25:33, 20:30] = 7
    labels[12:20, 5:12] = 9                  # touches object 3: kept apart by its id
    one = np.zeros((40, 40), np.uint8)
    one[10:20, 10:20] = 255                  # binary, but one object: as it is
    _write(tmp_path, "a", image, labels)
    _write(tmp_path, "b", image, one)
    pairs, messages = _read(tmp_path)
    assert messages == []
    np.testing.assert_array_equal(pairs[0][2], labels)
    np.testing.assert_array_equal(pairs[1][2], one)

"""RGB colour images: segmented as the mean of their colour channels by default (how the
deep models saw colour images in training), one channel with ``--channel``."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import tifffile
from click.testing import CliRunner

from celldyn.cli import main
from celldyn.io import read_movie
from celldyn.movie import selected


def _green_disks(path) -> np.ndarray:
    """A colour image whose nuclei show in the green channel only (a GFP export)."""
    yy, xx = np.mgrid[:96, :128]
    img = np.zeros((96, 128, 3), np.uint8)
    for cy, cx in ((25, 30), (25, 90), (70, 40), (70, 100)):
        img[..., 1][(yy - cy) ** 2 + (xx - cx) ** 2 < 10 ** 2] = 200
    img[..., 1] += np.random.default_rng(0).integers(0, 20, img.shape[:2]).astype(np.uint8)
    tifffile.imwrite(path, img, photometric="rgb")
    return img


def test_rgb_image_is_read_as_the_mean_of_its_colours(tmp_path):
    img = _green_disks(tmp_path / "rgb.tif")
    movie = read_movie(tmp_path / "rgb.tif")
    assert movie.is_rgb and movie.n_channels == 3
    mean, _ = selected(movie)
    assert "C" not in mean.axes
    np.testing.assert_allclose(np.asarray(mean.data)[0], img.astype(np.float32).mean(-1),
                               rtol=1e-6)
    green, _ = selected(movie, channel=1)
    np.testing.assert_array_equal(np.asarray(green.data)[0], img[..., 1])
    # a multichannel movie that is not a colour image keeps channel 0 by default
    tifffile.imwrite(tmp_path / "tcyx.tif", np.stack([img[..., 0], img[..., 1]])[None],
                     metadata={"axes": "TCYX"})
    two = read_movie(tmp_path / "tcyx.tif")
    assert not two.is_rgb
    np.testing.assert_array_equal(np.asarray(selected(two)[0].data)[0], img[..., 0])


@pytest.mark.parametrize("extra, found", [((), 4), (("--channel", "1"), 4)])
def test_run_finds_the_objects_of_a_green_only_colour_image(tmp_path, extra, found):
    _green_disks(tmp_path / "rgb.tif")
    res = CliRunner().invoke(main, ["run", str(tmp_path / "rgb.tif"), "--segmenter",
                                    "classical", "-o", str(tmp_path / "out"),
                                    "--no-progress", *extra])
    assert res.exit_code == 0, res.output
    objects = pd.read_parquet(tmp_path / "out" / "objects.parquet")
    assert len(objects) == found
    said = "mean of the colour channels" if not extra else "1 of 3 (0-2; --channel N"
    assert said in res.output           # the summary says what was segmented


def test_red_channel_of_a_green_only_image_is_refused_in_one_line(tmp_path):
    _green_disks(tmp_path / "rgb.tif")
    res = CliRunner().invoke(main, ["run", str(tmp_path / "rgb.tif"), "--segmenter",
                                    "classical", "--channel", "0", "-o",
                                    str(tmp_path / "out"), "--no-progress"])
    assert res.exit_code != 0 and "--channel" in res.output
    assert "Traceback" not in res.output

"""The deep segmenter's scale probe (``DeepSegmenter.estimate_diameter``)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from celldyn.segment.deep import load_segmenter
from celldyn.segment.deep.registry import PROBE_ZOOMS, _plateau
from celldyn.simulate import simulate_movie


def test_plateau_takes_the_longest_agreeing_run():
    # zoomed out: merged objects (70); a plateau near 51; zoomed in: pieces (30, 20)
    assert _plateau(np.array([70.0, 52, 50, 53, 51, 30, 20]), 1.2) == pytest.approx(51.5)
    # ties go to the run at the larger zooms (the later one)
    assert _plateau(np.array([100.0, 100, 10, 10]), 1.2) == pytest.approx(10.0)
    # a zoom that found nothing breaks a run
    assert _plateau(np.array([40.0, np.nan, 20, 21, 22]), 1.2) == pytest.approx(21.0)
    assert _plateau(np.array([np.nan, np.nan]), 1.2) is None


class _Fragmenting:
    """Stands in for a network that sees objects of `true` px correctly while they are
    at most 1.3x its working size (30 px), and cuts them into pieces of the working
    size when zoomed in further: the over-segmentation that fooled the old probe."""

    def __init__(self, true: float):
        self.true = true
        self.calls: list[float] = []

    def __call__(self, sub, diameter, tile):
        zoom = 30.0 / diameter
        self.calls.append(zoom)
        seen = self.true * zoom
        d = self.true if seen <= 1.3 * 30.0 else 30.0 / zoom  # pieces of 30 px
        r = max(1, int(round(d / 2)))
        out = np.zeros((256, 256), np.int32)
        yy, xx = np.mgrid[:256, :256]
        lab = 1
        for cy in range(r + 1, 256 - r, 2 * r + 2):
            for cx in range(r + 1, 256 - r, 2 * r + 2):
                out[(yy - cy) ** 2 + (xx - cx) ** 2 <= r * r] = lab
                lab += 1
        return out


@pytest.mark.parametrize("true", [24.0, 50.0])
def test_probe_is_not_fooled_by_fragments(monkeypatch, true):
    seg = load_segmenter("nuclei2d")
    fake = _Fragmenting(true)
    monkeypatch.setattr(seg, "segment", lambda sub, diameter, tile=512, **kw: fake(sub, diameter, tile))
    d = seg.estimate_diameter(np.zeros((256, 256), np.float32))
    assert sorted(fake.calls) == pytest.approx(sorted(PROBE_ZOOMS))
    # the fragments at large zooms measure exactly the working size (30 px at zoom 1),
    # the old rule's fixed point; the plateau is the true size (within the pixel
    # rounding of the drawn discs)
    assert abs(np.log(d / true)) < np.log(1.1)


@pytest.mark.parametrize("radius", [8.0, 16.0])
def test_probe_finds_the_size_of_simulated_nuclei(radius):
    torch.set_num_threads(2)
    sim = simulate_movie(ndim=2, n_frames=1, n_objects=12, shape=(256, 256),
                         radius=(radius, 1.2 * radius), rng=0)
    lab = np.asarray(sim.labels[0])
    areas = np.bincount(lab.ravel())[1:]
    truth = np.sqrt(4 * np.median(areas[areas > 0]) / np.pi)
    d = load_segmenter("nuclei2d").estimate_diameter(np.asarray(sim.movie.data[0]))
    assert d is not None and abs(np.log(d / truth)) < np.log(1.25)


class _Merging:
    """Stands in for a network given a frame too narrow for the zoom: the whole strip
    comes back as a few objects as long as the frame (what a 47 px mother-machine
    trench zoomed by 1/4 gave), and the true 16 px objects at the other zooms."""

    def __init__(self):
        self.calls: list[float] = []

    def __call__(self, sub, diameter, tile):
        zoom = 30.0 / diameter
        self.calls.append(zoom)
        out = np.zeros(sub.shape, np.int32)
        step = 100 if min(sub.shape) * zoom < 30 else 20
        for k, y in enumerate(range(2, sub.shape[0] - step, step)):
            out[y:y + step - 4, 4:-4] = k + 1
        return out


def test_probe_skips_zooms_the_frame_is_too_narrow_for(monkeypatch):
    from celldyn.segment.deep.registry import probe_zooms_for

    seg = load_segmenter("generalist2d")
    fake = _Merging()
    monkeypatch.setattr(seg, "segment", lambda sub, diameter, tile=None, **kw: fake(sub, diameter, tile))
    d = seg.estimate_diameter(np.zeros((845, 47), np.float32))
    zooms = sorted(float(z) for z in seg.config["probe_zooms"])
    usable = probe_zooms_for((512, 47), zooms, seg.target_diameter)
    # the narrow zooms are not run at all, and the answer is the strips' true size
    assert sorted(fake.calls) == pytest.approx([z for z, ok in zip(zooms, usable) if ok])
    assert not all(usable) and any(usable)
    assert d is not None and d < 47
    # a wide frame is probed at every zoom
    assert all(probe_zooms_for((512, 512), zooms, seg.target_diameter))


@pytest.mark.parametrize("radius, shape, n", [(5.0, (256, 256), 40), (90.0, (1200, 1200), 8)])
def test_generalist_probe_finds_small_and_large_objects(radius, shape, n):
    # nuclei about 11 px across: zoomed by at most 2 the network saw them at 22 px, under
    # its working size (30 px), and the probe answered ~86 px (merged clusters at the low
    # zooms); objects about 200 px across: zoomed by at least 1/4 the network saw 50 px
    # pieces and the probe answered ~12 px. Zooms 2.83 and 4, and 1/8 and 1/5.7 on a
    # wider crop, bring both to the working size.
    torch.set_num_threads(2)
    sim = simulate_movie(ndim=2, n_frames=1, n_objects=n, shape=shape,
                         radius=(radius, 1.2 * radius), rng=0)
    lab = np.asarray(sim.labels[0])
    areas = np.bincount(lab.ravel())[1:]
    truth = np.sqrt(4 * np.median(areas[areas > 0]) / np.pi)
    seg = load_segmenter("generalist2d")
    d = seg.estimate_diameter(np.asarray(sim.movie.data[0]))
    assert d is not None and abs(np.log(d / truth)) < np.log(1.25)


def test_probe_crop_follows_the_zoom(monkeypatch):
    seg = load_segmenter("generalist2d")
    seen: list[tuple[float, tuple[int, ...]]] = []

    def fake(sub, diameter, tile=None, **kw):
        seen.append((30.0 / diameter, sub.shape))
        return np.zeros(sub.shape, np.int32)

    monkeypatch.setattr(seg, "segment", fake)
    assert seg.estimate_diameter(np.zeros((3000, 2500), np.float32)) is None
    cap, floor = seg.config["probe_max_input"], seg.config["probe_min_input"]
    crop = seg.config["probe_crop"]
    for zoom, shape in seen:
        # the network sees at most probe_max_input and at least probe_min_input px a
        # side (within a pixel of rounding) ...
        assert floor - zoom <= max(shape) * zoom <= cap + zoom
        # ... and the zooms between keep the whole crop
        if floor <= zoom * crop <= cap:
            assert shape == (crop, crop)
    zooms = sorted(z for z, _ in seen)
    assert zooms == pytest.approx(sorted(seg.config["probe_zooms"]))
    assert min(zooms) * crop < floor and max(zooms) * crop > cap   # both bounds used


def test_low_zooms_skip_small_frames(monkeypatch):
    # zoomed by 1/8 a 256 px frame is 32 px: a few merged blobs, not a size
    seg = load_segmenter("generalist2d")
    seen: list[float] = []

    def fake(sub, diameter, tile=None, **kw):
        seen.append(30.0 / diameter)
        # the probe measures sizes: cells cut by the crop's edge are not exempted from
        # min_size there (the model's min_size_edge is for the segmentation itself), and
        # slivers and markers as when those levels were chosen (min_width_px, marker_h 0)
        assert kw.get("thresholds") == {"min_size_edge": None, "min_width_px": 0,
                                        "marker_h": 0}
        return np.zeros(sub.shape, np.int32)

    monkeypatch.setattr(seg, "segment", fake)
    seg.estimate_diameter(np.zeros((256, 320), np.float32))
    assert min(seen) == pytest.approx(0.25)
    seen.clear()
    seg.estimate_diameter(np.zeros((600, 600), np.float32))
    assert min(seen) == pytest.approx(0.125)


@pytest.mark.parametrize("key, value", [("probe_zooms", "big"), ("probe_zooms", [0.5, -1]),
                                        ("probe_crop", "512"), ("probe_core_zooms", [1])])
def test_a_hand_edited_probe_setting_is_a_one_line_model_error(tmp_path, key, value):
    """A user's model folder whose config.json has a malformed scale-probe key is
    refused when loaded, with the file and the key named, not a traceback mid-run."""
    import json
    import shutil

    from celldyn.errors import ModelError
    from celldyn.segment.deep.registry import load_segmenter, model_folder

    folder = tmp_path / "mine"
    shutil.copytree(model_folder("generalist2d"), folder)
    cfg = json.loads((folder / "config.json").read_text())
    cfg[key] = value
    (folder / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ModelError, match=key) as err:
        load_segmenter(folder)
    assert "\n" not in str(err.value)
    assert load_segmenter(model_folder("generalist2d")).config.get("probe_zooms")


@pytest.mark.parametrize("text", ['{"min_size": "big"}', '[0.5, 0.3]',
                                  '{"fg_threshold": true}'])
def test_a_hand_edited_thresholds_file_is_a_one_line_model_error(tmp_path, text):
    """thresholds.json that is not an object of numbers is refused when the model loads
    (it was a float() traceback in the middle of a run)."""
    import shutil

    from celldyn.errors import ModelError
    from celldyn.segment.deep.registry import load_segmenter, model_folder

    folder = tmp_path / "mine"
    shutil.copytree(model_folder("generalist2d"), folder)
    (folder / "thresholds.json").write_text(text)
    with pytest.raises(ModelError, match="thresholds.json") as err:
        load_segmenter(folder)
    assert "\n" not in str(err.value)
    (folder / "thresholds.json").write_text('{"min_size": 150, "min_size_edge": null}')
    assert load_segmenter(folder).thresholds["min_size_edge"] is None

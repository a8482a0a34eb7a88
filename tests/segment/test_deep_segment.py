"""Deep segmentation: network, heads, tiling, augmentation, training loop, determinism.

Everything runs a tiny U-Net (base 4, depth 2) on tiny simulated crops: seconds.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from celldyn.segment import normalize_frame
from celldyn.segment.deep.augment import (
    AugmentConfig,
    augment_intensity,
    foreground_index,
    sample_crop,
)
from celldyn.segment.deep.heads import instances_from_maps, make_targets
from celldyn.segment.deep.metrics import average_precision, match_counts
from celldyn.segment.deep.tiling import predict_logits, receptive_radius
from celldyn.segment.deep.train import Sample, tiny_config, train_segmenter
from celldyn.segment.deep.unet import N_OUT, UNet


@pytest.fixture(autouse=True)
def _threads():
    torch.set_num_threads(2)


def _random_bn(net: UNet) -> UNet:
    """Non-trivial batch-norm statistics, so eval mode is not the identity."""
    g = torch.Generator().manual_seed(0)
    for m in net.modules():
        if isinstance(m, (torch.nn.BatchNorm2d, torch.nn.BatchNorm3d)):
            m.running_mean.copy_(torch.rand(m.running_mean.shape, generator=g) - 0.5)
            m.running_var.copy_(torch.rand(m.running_var.shape, generator=g) + 0.5)
    return net.eval()


@pytest.fixture(scope="module")
def samples(sim2d):
    return [Sample(normalize_frame(sim2d.movie.data[t]), sim2d.labels[t]) for t in range(4)]


def test_unet_shapes_2d_and_3d():
    torch.manual_seed(0)
    net = UNet(2, base=4, depth=2)
    assert net(torch.zeros(2, 1, 32, 48)).shape == (2, N_OUT, 32, 48)
    net3 = UNet(3, base=4, depth=2)      # pools in Y, X only: any Z
    assert net3(torch.zeros(1, 1, 5, 16, 24)).shape == (1, N_OUT, 5, 16, 24)
    with pytest.raises(ValueError):
        UNet(4)


def test_targets_and_postprocess_round_trip():
    lab = np.zeros((40, 60), np.int32)
    lab[5:20, 5:20] = 1
    lab[5:20, 20:35] = 2             # touches 1
    lab[25:35, 40:55] = 3
    lab[30, 5] = -1                  # ignored pixel
    sem, dist = make_targets(lab)
    assert sem[30, 5] == -1 and dist[30, 5] == -1
    assert set(np.unique(sem[lab >= 0])) == {0, 1, 2}
    assert dist.max() == pytest.approx(1.0) and (dist[lab == 0] == 0).all()
    prob = np.stack([sem <= 0, sem == 1, sem == 2]).astype(np.float32)
    out = instances_from_maps(prob, np.clip(dist, 0, 1), min_size=5)
    assert out.dtype == np.int32 and out.max() == 3
    ap = average_precision([(np.clip(lab, 0, None), out)], (0.5, 0.9))
    assert ap == {0.5: 1.0, 0.9: 1.0}
    # 3D too
    lab3 = np.zeros((7, 20, 20), np.int32)
    lab3[1:6, 2:10, 2:10] = 1
    lab3[1:6, 10:18, 2:10] = 2
    sem3, d3 = make_targets(lab3)
    out3 = instances_from_maps(np.stack([sem3 == 0, sem3 == 1, sem3 == 2]).astype(float), d3,
                               marker_threshold=0.4, min_size=1)
    assert out3.max() == 2


def test_small_objects_cut_by_the_frame_edge_have_their_own_floor():
    """min_size_edge keeps a small object that touches the border (a cell cut by the
    field of view) while the same size in the interior is dropped; without it, one
    floor for all (as before)."""
    from celldyn.segment.deep.inference import _post_kwargs

    lab = np.zeros((40, 60), np.int32)
    lab[10:25, 10:25] = 1            # 225 px, interior
    lab[0:6, 30:40] = 2              # 60 px, cut by the top edge
    lab[30:36, 40:50] = 3            # 60 px, interior
    sem, dist = make_targets(lab)
    prob = np.stack([sem <= 0, sem == 1, sem == 2]).astype(np.float32)

    def sizes(**kw):
        out = instances_from_maps(prob, dist, marker_threshold=0.3, **kw)
        return sorted(np.bincount(out.ravel())[1:].tolist())

    assert sizes(min_size=100) == [225]
    assert sizes(min_size=100, min_size_edge=100) == [225]
    assert sizes(min_size=100, min_size_edge=40) == [60, 225]   # the edge one only
    assert sizes(min_size=100, min_size_edge=80) == [225]
    # levels are stated at the model's scale: zoom 0.5 -> 4x the pixels of the frame
    kw = _post_kwargs({"min_size": 150, "min_size_edge": 60}, 0.5)
    assert (kw["min_size"], kw["min_size_edge"]) == (600, 240)
    assert _post_kwargs({"min_size": 150}, 1.0)["min_size_edge"] == 150
    # never stricter at the edge than inside: lowering min_size lowers both
    assert _post_kwargs({"min_size": 16, "min_size_edge": 60}, 1.0)["min_size_edge"] == 16


def test_metrics_partial_annotation():
    gt = np.zeros((20, 20), np.int32)
    gt[2:8, 2:8] = 1
    pred = np.zeros_like(gt)
    pred[2:8, 2:9] = 4               # IoU 36/42 = 0.857
    pred[12:18, 12:18] = 7           # no annotated object here
    assert match_counts(gt, pred, (0.5, 0.9)) == {0.5: (1, 1, 0), 0.9: (0, 2, 1)}
    assert match_counts(gt, pred, (0.5,), ignore_unannotated=True) == {0.5: (1, 0, 0)}


@pytest.mark.parametrize("ndim", [2, 3])
def test_tiled_prediction_has_no_seams(ndim):
    torch.manual_seed(1)
    net = _random_bn(UNet(ndim, base=4, depth=2))
    r = receptive_radius(net)
    shape = (150, 203) if ndim == 2 else (3, 70, 90)
    img = np.random.default_rng(0).random(shape).astype(np.float32)
    whole = predict_logits(net, img, tile=4096)          # one tile
    tiled = predict_logits(net, img, tile=2 * r + 16)    # many small tiles
    assert whole.shape == (N_OUT, *shape)
    np.testing.assert_allclose(tiled, whole, atol=1e-5)


def test_augmentation_is_seeded_and_label_safe(samples):
    s = samples[0]
    a = sample_crop(s.image, s.labels, 40, np.random.default_rng(3), zoom=0.8)
    b = sample_crop(s.image, s.labels, 40, np.random.default_rng(3), zoom=0.8)
    c = sample_crop(s.image, s.labels, 40, np.random.default_rng(4), zoom=0.8)
    assert a[0].shape == (40, 40) and a[1].dtype == np.int32
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])
    assert set(np.unique(a[1])) <= set(np.unique(s.labels))   # nearest: no new ids
    x = augment_intensity(a[0], np.random.default_rng(5))
    np.testing.assert_array_equal(x, augment_intensity(a[0], np.random.default_rng(5)))
    # a precomputed foreground index (what the training loop passes) gives the same crop
    d = sample_crop(s.image.astype(np.float32), s.labels, 40, np.random.default_rng(3), zoom=0.8,
                    fg_index=foreground_index(s.labels))
    np.testing.assert_array_equal(a[0], d[0])
    np.testing.assert_array_equal(a[1], d[1])
    # no intensity augmentation: the image is unchanged
    none = AugmentConfig.none()
    np.testing.assert_array_equal(augment_intensity(a[0], np.random.default_rng(0), none), a[0])
    # contrast inversion: always at invert_p 1, never at 0, where the random stream is
    # the one the shipped models were trained with (no extra draw)
    inv = augment_intensity(a[0], np.random.default_rng(0), replace(none, invert_p=1.0))
    np.testing.assert_allclose(inv, 1.0 - a[0], atol=1e-6)
    np.testing.assert_array_equal(
        augment_intensity(a[0], np.random.default_rng(5), AugmentConfig(invert_p=0.0)), x)
    half = [bool(np.allclose(augment_intensity(a[0], np.random.default_rng(k),
                                               replace(none, invert_p=0.5)), 1.0 - a[0]))
            for k in range(40)]
    assert 8 < sum(half) < 32


def test_training_is_deterministic_and_resumable(samples, tmp_path):
    cfg = tiny_config()
    r1 = train_segmenter(samples[:3], samples[3:], cfg, tune=False)
    r2 = train_segmenter(samples[:3], samples[3:], cfg, tune=False)
    for (k, a), b in zip(r1.net.state_dict().items(), r2.net.state_dict().values(),
                         strict=True):
        assert torch.equal(a, b), k
    assert [h["loss"] for h in r1.history] == [h["loss"] for h in r2.history]
    assert {"val_ap50", "val_ap75"} <= set(r1.history[0])

    def stop(rec):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_segmenter(samples[:3], samples[3:], cfg, tune=False,
                        checkpoint_dir=tmp_path, on_epoch=stop)
    r3 = train_segmenter(samples[:3], samples[3:], cfg, tune=False,
                         checkpoint_dir=tmp_path, resume=True)
    for a, b in zip(r1.net.state_dict().values(), r3.net.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    assert len(r3.history) == cfg.epochs
    # inference is deterministic too
    from celldyn.segment.deep.inference import segment_image

    th = {"fg_threshold": 0.5, "marker_threshold": 0.5, "min_size": 4}
    np.testing.assert_array_equal(segment_image(r1.net, samples[3].image, th, normalized=True),
                                  segment_image(r1.net, samples[3].image, th, normalized=True))


def test_validation_every_n_epochs_and_keep_best(samples):
    cfg = tiny_config(epochs=3, val_every=2, keep_best=True)
    r = train_segmenter(samples[:3], samples[3:], cfg, tune=False)
    assert "val_ap50" not in r.history[0]
    assert {"val_ap50", "val_ap75"} <= set(r.history[1]) and "val_ap50" in r.history[2]
    scores = {h["epoch"]: (h["val_ap50"] + h["val_ap75"]) / 2 for h in r.history
              if "val_ap50" in h}
    assert r.best_epoch == max(scores, key=lambda e: (scores[e], -e))
    # the same run without keep_best ends on the last epoch's weights
    last = train_segmenter(samples[:3], samples[3:], replace(cfg, keep_best=False), tune=False)
    assert last.best_epoch is None
    same = all(torch.equal(a, b) for a, b in zip(r.net.state_dict().values(),
                                                  last.net.state_dict().values(), strict=True))
    assert same == (r.best_epoch == cfg.epochs - 1)


def test_training_3d_runs(sim3d):
    s = [Sample(normalize_frame(sim3d.movie.data[t]), sim3d.labels[t]) for t in range(2)]
    r = train_segmenter(s[:1], (), tiny_config(ndim=3, z_crop=4, epochs=1), tune=False)
    assert r.net.ndim == 3 and np.isfinite(r.history[0]["loss"])

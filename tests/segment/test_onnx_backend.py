"""2D networks through ONNX Runtime (celldyn.segment.deep.tiling) vs PyTorch."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from celldyn.segment.deep.unet import UNet


def test_onnx_runtime_matches_pytorch_and_follows_new_weights(monkeypatch):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    from celldyn.segment.deep import tiling

    torch.manual_seed(0)
    net = UNet(base=4, depth=2).eval()
    img = np.random.default_rng(0).random((70, 90)).astype(np.float32)
    with tiling.torch_backend():
        ref = tiling.predict_logits(net, img, tile=64)
    out = tiling.predict_logits(net, img, tile=64)
    assert net in tiling._SESSIONS                      # ran through ONNX Runtime
    np.testing.assert_allclose(out, ref, atol=1e-4)
    # new weights (a training step) are never served from the old export
    with torch.no_grad():
        next(net.parameters()).add_(0.5)
    with tiling.torch_backend():
        ref2 = tiling.predict_logits(net, img, tile=64)
    assert np.abs(ref2 - ref).max() > 1e-3
    np.testing.assert_allclose(tiling.predict_logits(net, img, tile=64), ref2, atol=1e-4)
    monkeypatch.setenv("CELLDYN_ONNX", "0")
    assert tiling._ort_session(net, torch.device("cpu")) is None

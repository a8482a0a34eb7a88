"""n2v with neighbouring frames as context: frame t's noise only ever reaches the
network through the middle channel (where the blind spot is), the neighbours add
photons on a still scene, and the setting round-trips through the saved state."""

import numpy as np
import pytest

from celldyn.denoise import Denoiser, train_denoiser
from celldyn.denoise.learned import _inputs, _n2v_mask
from celldyn.errors import ConfigError, InputError


@pytest.mark.parametrize("n, context", [(3, 1), (4, 1), (5, 2), (6, 2), (9, 3)])
def test_frame_t_only_in_the_middle_channel(n, context):
    stack = np.arange(n, dtype=np.float32)[:, None, None] * np.ones((1, 4, 4), np.float32)
    for t in range(n):
        x = _inputs(stack, t, "n2v", context)
        seen = x[:, 0, 0].astype(int).tolist()
        assert len(seen) == 2 * context + 1
        assert seen[context] == t
        assert t not in seen[:context] + seen[context + 1:], (t, seen)
        assert all(0 <= f < n for f in seen)
        # the nearest neighbours come first where they exist
        if 0 < t < n - 1:
            assert seen[context - 1] == t - 1 and seen[context + 1] == t + 1


def test_blind_spot_is_in_the_middle_channel_only():
    rng = np.random.default_rng(0)
    batch = rng.normal(size=(2, 3, 16, 16)).astype(np.float32)
    masked, mask = _n2v_mask(batch, rng, 0.05, channel=1)
    assert mask.shape == (2, 1, 16, 16) and mask.any()
    np.testing.assert_array_equal(masked[:, [0, 2]], batch[:, [0, 2]])
    changed = masked[:, 1] != batch[:, 1]
    assert changed.any() and not (changed & ~mask[:, 0]).any()


def _still_scene(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:64, :64]
    frame = 1.0 + 3.0 * ((yy - 32) ** 2 + (xx - 30) ** 2 < 14**2) \
        + 2.0 * ((yy - 12) ** 2 + (xx - 50) ** 2 < 6**2)
    clean = np.repeat(frame[None], 7, axis=0).astype(np.float32)
    return clean, rng.poisson(clean).astype(np.float32)


def test_neighbouring_frames_help_on_a_still_scene():
    clean, noisy = _still_scene()
    err = {}
    for context in (0, 1):
        model = train_denoiser(noisy, epochs=3, steps_per_epoch=20, batch_size=8,
                               context=context, seed=0)
        assert model.context == context
        err[context] = float(np.mean((model(noisy) - clean) ** 2))
    assert err[1] < 0.9 * err[0], err
    assert err[1] < 0.5 * float(np.mean((noisy - clean) ** 2))


def test_context_round_trips_and_old_states_load_without_it():
    _, noisy = _still_scene(1)
    model = train_denoiser(noisy, epochs=1, steps_per_epoch=2, batch_size=2,
                           context=1, seed=2)
    out = model(noisy)
    again = Denoiser.from_state(model.state)
    assert again.context == 1
    np.testing.assert_array_equal(again(noisy), out)
    # states saved before the option existed are one-frame networks
    plain = train_denoiser(noisy, epochs=1, steps_per_epoch=2, batch_size=2, seed=2,
                           context=0)
    state = dict(plain.state)
    del state["context"]
    np.testing.assert_array_equal(Denoiser.from_state(state)(noisy), plain(noisy))


def test_context_errors_are_clear():
    _, noisy = _still_scene()
    with pytest.raises(InputError, match="at least 5 frames"):
        train_denoiser(noisy[:4], epochs=1, steps_per_epoch=1, context=2)
    with pytest.raises(ConfigError, match="context"):
        train_denoiser(noisy, method="temporal", epochs=1, steps_per_epoch=1, context=1)
    with pytest.raises(ConfigError, match="context"):
        train_denoiser(noisy, epochs=1, steps_per_epoch=1, context=-1)
    model = train_denoiser(noisy, epochs=1, steps_per_epoch=1, batch_size=2, context=1)
    with pytest.raises(InputError, match="at least 3 frames"):
        model(noisy[:2])


def test_default_context_is_cut_to_the_movie(monkeypatch):
    from celldyn.denoise import learned

    _, noisy = _still_scene()
    monkeypatch.setattr(learned, "DEFAULT_CONTEXT", 2)
    assert train_denoiser(noisy, epochs=1, steps_per_epoch=1, batch_size=2).context == 2
    assert train_denoiser(noisy[:4], epochs=1, steps_per_epoch=1, batch_size=2).context == 1
    assert train_denoiser(noisy[:1], epochs=1, steps_per_epoch=1, batch_size=2).context == 0
    assert train_denoiser(noisy, method="temporal", epochs=1, steps_per_epoch=1,
                          batch_size=2).context == 0


def test_cli_context_option(tmp_path):
    import tifffile
    from click.testing import CliRunner

    from celldyn.cli.main import main

    _, noisy = _still_scene()
    src = tmp_path / "movie.tif"
    tifffile.imwrite(src, noisy.astype(np.uint16), imagej=True, metadata={"axes": "TYX"})
    runner = CliRunner()
    res = runner.invoke(main, ["denoise", str(src), "-o", str(tmp_path / "a.tif"), "--method",
                               "n2v", "--context", "1", "--epochs", "1", "--no-progress",
                               "--save-model", str(tmp_path / "m.pt")])
    assert res.exit_code == 0, res.output
    assert "it saw 1 frame(s) on each side" in res.output
    import torch

    assert Denoiser.from_state(torch.load(tmp_path / "m.pt", weights_only=True)).context == 1
    for args in (["--method", "temporal", "--context", "1"],
                 ["--method", "n2v", "--context", "1", "--model", str(tmp_path / "m.pt")]):
        res = runner.invoke(main, ["denoise", str(src), "-o", str(tmp_path / "b.tif"), *args])
        assert res.exit_code == 2 and "--context" in res.output, res.output
        assert "Traceback" not in res.output

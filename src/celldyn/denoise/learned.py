"""Self-supervised denoisers trained on the user's own movie (PyTorch, CPU).

Two methods share one small 2D U-Net (ours, written by hand: ``depth`` down/up levels,
two by default, ``width`` channels at the top; about 0.1 M parameters at the defaults;
depths 3 and 4 were validated against 2 for the deep segmenter on dim nuclei in
benchmarks/denoising.py ``--part validation-context`` and did not win by the rule's
margin, so 2 stays):

- ``n2v`` (Noise2Void-style blind spot; Krull, Buchholz & Jug, CVPR 2019): in every
  training patch a few pixels are replaced by a random neighbour within a 5x5 window,
  and the loss is the squared error at those pixels only, so the network cannot copy
  the noisy value and learns the expected value from the surroundings. Assumes
  pixel-wise independent, zero-mean noise; spatially correlated noise (e.g. after
  camera-side smoothing or demosaicing) is partly kept as signal. With ``context`` k
  (default :data:`DEFAULT_CONTEXT`, 2) the network also sees frames t-k .. t+k beside
  frame t; the blind spot stays in frame t, whose noise the neighbours do not share, so
  they add photons where the scene holds still, and the network learns from the movie
  how far to trust them where objects move (ours; the same idea as the temporal
  context of video blind-spot denoisers). In principle it can do no worse than the
  one-frame network (it may learn to ignore the neighbours), unlike ``temporal``; in
  practice a neighbour helps only as far as the motion between frames is small
  compared with the objects.
- ``temporal`` (Noise2Noise over time; Lehtinen et al., ICML 2018): the network sees
  frames t-1 and t+1 and predicts the noisy frame t; the noise of t is independent of
  its input, so the target is clean frame t. **Where motion breaks it**: the network
  can only see t-1 and t+1, so whatever changes between them it must interpolate.
  Objects that move more than about their own size between frames, appear, vanish or
  divide come out blurred, ghosted (a faint copy at the old and new place) or
  missing; slow, smooth motion (a few pixels per frame) is learned. It also needs at
  least 3 frames; the first and last frame use their only neighbour twice.

3D movies (TZYX) are denoised plane by plane with the 2D network (the planes of all
frames form the training set); noise correlated across Z is not used.
Inference tiles large frames (``tile`` px with ``overlap`` px margins, only tile
centres kept). Training is deterministic for a fixed ``seed`` on CPU (seeded torch and
numpy generators; the same thread count gives the same result).

Intensities are normalised by the movie's mean and standard deviation before training
and restored after, so the output is in the input's units.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from .._optional import require_torch
from ..errors import ConfigError, InputError
from ._checks import check_denoise_input

__all__ = ["DEFAULT_CONTEXT", "DEFAULT_EPOCHS", "Denoiser", "denoise_learned",
           "train_denoiser"]

Method = Literal["n2v", "temporal"]

# Default training length (epochs of 50 steps) per method. n2v: 20 (1000 steps), raised
# from 10 in 2026-12 on the *validation* frames of benchmarks/denoising.py
# (``--part validation``: HeLa-01 frames 20-25 with added noise at the severe level;
# the deep segmenter's share of lost AP@0.5 restored 0.19 at 500 steps, 0.32 at 1000,
# among candidates fixed before scoring; about 2 min on one CPU thread for six
# 700x1100 frames). temporal: 10, not re-validated.
DEFAULT_EPOCHS = {"n2v": 20, "temporal": 10}

# n2v's default number of neighbouring frames on each side it also sees (``context``);
# movies too short for it get what they have frames for. 2 (frames t-2 .. t+2) since
# 2026-12-05, chosen on the *validation* frames of benchmarks/denoising.py
# (``--part validation-time``: HeLa-01 frames 20-25 at the severe added-noise level; the
# deep segmenter's share of lost AP@0.5 restored, mean of two training seeds: one frame
# 0.275, context 1 0.326, context 2 0.330, the rule's margin 0.05); training costs about
# 1.8x the one-frame network's time.
DEFAULT_CONTEXT = 2


def _unet(in_ch: int, width: int, depth: int = 2, residual: bool = False):
    import torch
    from torch import nn

    def block(i: int, o: int) -> nn.Module:
        return nn.Sequential(nn.Conv2d(i, o, 3, padding=1), nn.LeakyReLU(0.1),
                             nn.Conv2d(o, o, 3, padding=1), nn.LeakyReLU(0.1))

    class UNet(nn.Module):
        # depth 2 keeps the parameter names of the original two-level network
        # (e1 e2 e3 / u2 d2 u1 d1), so saved states load unchanged
        def __init__(self) -> None:
            super().__init__()
            chans = [width * 2**k for k in range(depth + 1)]
            for k in range(depth + 1):
                setattr(self, f"e{k + 1}", block(in_ch if k == 0 else chans[k - 1], chans[k]))
            for k in range(depth, 0, -1):
                setattr(self, f"u{k}", nn.ConvTranspose2d(chans[k], chans[k - 1], 2, stride=2))
                setattr(self, f"d{k}", block(2 * chans[k - 1], chans[k - 1]))
            self.out = nn.Conv2d(width, 1, 1)
            self.pool = nn.MaxPool2d(2)

        def forward(self, x):
            skips = [self.e1(x)]
            for k in range(2, depth + 2):
                skips.append(getattr(self, f"e{k}")(self.pool(skips[-1])))
            a = skips.pop()
            for k in range(depth, 0, -1):
                up = getattr(self, f"u{k}")(a)
                a = getattr(self, f"d{k}")(torch.cat([up, skips.pop()], 1))
            # temporal (its input never holds the target pixel): residual on the
            # neighbours' mean. n2v: no residual, or the unmasked pixel would pass its
            # own noise through at inference
            return self.out(a) + x.mean(1, keepdim=True) if residual else self.out(a)

    return UNet()


@dataclass
class Denoiser:
    """A trained self-supervised denoiser: method, network weights, normalisation.

    ``state`` is a plain dict (picklable, ``torch.save``-able) so the CLI can save it
    and reuse it on other movies of the same microscope (:meth:`from_state`).
    """

    method: str
    width: int
    mean: float
    std: float
    weights: dict[str, Any] = field(repr=False)
    losses: list[float] = field(default_factory=list, repr=False)
    depth: int = 2
    context: int = 0

    @property
    def state(self) -> dict[str, Any]:
        return {"method": self.method, "width": self.width, "depth": self.depth,
                "context": self.context,
                "mean": self.mean, "std": self.std, "weights": self.weights}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Denoiser:
        try:
            return cls(method=state["method"], width=int(state["width"]),
                       mean=float(state["mean"]), std=float(state["std"]),
                       weights=state["weights"], depth=int(state.get("depth", 2)),
                       context=int(state.get("context", 0)))
        except (KeyError, TypeError, ValueError):
            raise ConfigError("not a celldyn denoiser state (method, width, mean, "
                              "std, weights)") from None

    def _net(self):
        net = _unet(_channels(self.method, self.context), self.width, self.depth,
                    residual=self.method == "temporal")
        net.load_state_dict(self.weights)
        net.eval()
        return net

    def __call__(self, movie: Any, *, tile: int = 256, overlap: int = 24,
                 progress: bool = False) -> np.ndarray:
        """Denoise `movie` (T(Z)YX) with this model; float32, same shape."""
        import torch

        arr = check_denoise_input(movie)
        if self.context and arr.shape[0] < 2 * self.context + 1:
            raise InputError(f"this n2v model sees {self.context} frame(s) on each side "
                             f"and needs at least {2 * self.context + 1} frames; the movie "
                             f"has {arr.shape[0]}")
        planes = _planes(arr)
        norm = (planes - self.mean) / self.std
        net = self._net()
        out = np.empty_like(norm)
        frames = range(norm.shape[1])
        if progress:
            from tqdm.auto import tqdm
            frames = tqdm(frames, desc=f"denoise ({self.method})", unit="frame")
        with torch.no_grad():
            for t in frames:
                for z in range(norm.shape[0]):
                    x = _inputs(norm[z], t, self.method, self.context)
                    out[z, t] = _tiled(net, x, tile, overlap, 2**self.depth)
        return _unplanes(out * self.std + self.mean, arr.shape)


def _planes(arr: np.ndarray) -> np.ndarray:
    """(T, Y, X) -> (1, T, Y, X); (T, Z, Y, X) -> (Z, T, Y, X)."""
    return arr[None] if arr.ndim == 3 else arr.transpose(1, 0, 2, 3)


def _unplanes(p: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    out = p[0] if len(shape) == 3 else p.transpose(1, 0, 2, 3)
    return np.ascontiguousarray(out, dtype=np.float32)


def _channels(method: str, context: int) -> int:
    return 2 if method == "temporal" else 2 * context + 1


def _inputs(stack: np.ndarray, t: int, method: str, context: int = 0) -> np.ndarray:
    """Network input channels for frame t of a (T, Y, X) stack.

    n2v with ``context`` k: frames t-k .. t+k, frame t in the middle channel. A
    neighbour past the movie's first or last frame is replaced by the one mirrored
    about t (t-d for t+d), never by frame t itself, whose noise must stay out of every
    channel but the middle one (needs at least 2k+1 frames)."""
    n = stack.shape[0]
    if method == "n2v":
        if not context:
            return stack[t][None]
        idx = [t + d if 0 <= t + d < n else t - d for d in range(-context, context + 1)]
        return stack[idx]
    prev = stack[t - 1] if t > 0 else stack[t + 1]
    nxt = stack[t + 1] if t < n - 1 else stack[t - 1]
    return np.stack([prev, nxt])


def _tiled(net: Any, x: np.ndarray, tile: int, overlap: int, multiple: int = 4
           ) -> np.ndarray:
    """Apply `net` to (C, Y, X) in tiles of `tile` px; keep each tile's centre. Tiles
    are padded to a `multiple` of pixels (2 ** the U-Net's depth)."""
    import torch

    _, h, w = x.shape
    step = max(tile - 2 * overlap, 4)
    out = np.empty((h, w), np.float32)
    for y0 in range(0, h, step):
        for x0 in range(0, w, step):
            y1, x1 = min(y0 + step, h), min(x0 + step, w)
            ya, xa = max(y0 - overlap, 0), max(x0 - overlap, 0)
            yb, xb = min(y1 + overlap, h), min(x1 + overlap, w)
            patch = x[:, ya:yb, xa:xb]
            ph, pw = patch.shape[1:]
            py, px = (-ph) % multiple, (-pw) % multiple
            mode = "reflect" if min(ph, pw) > multiple else "edge"
            patch = np.pad(patch, ((0, 0), (0, py), (0, px)), mode=mode)
            pred = net(torch.from_numpy(np.ascontiguousarray(patch))[None])[0, 0].numpy()
            out[y0:y1, x0:x1] = pred[y0 - ya:y1 - ya, x0 - xa:x1 - xa]
    return out


def _n2v_mask(batch: np.ndarray, rng: np.random.Generator, fraction: float,
              channel: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Replace `fraction` of the pixels of `channel` by a random neighbour (5x5, not
    itself); the mask has that one channel."""
    b, _, h, w = batch.shape
    n = max(1, round(fraction * h * w))
    masked = batch.copy()
    mask = np.zeros((b, 1, h, w), dtype=bool)
    for i in range(b):
        ys = rng.integers(0, h, n)
        xs = rng.integers(0, w, n)
        dy = rng.integers(-2, 3, n)
        dx = rng.integers(-2, 3, n)
        same = (dy == 0) & (dx == 0)
        dx[same] = rng.choice([-1, 1], int(same.sum()))
        sy = np.clip(ys + dy, 0, h - 1)
        sx = np.clip(xs + dx, 0, w - 1)
        masked[i, channel, ys, xs] = batch[i, channel, sy, sx]
        mask[i, 0, ys, xs] = True
    return masked, mask


def train_denoiser(
    movie: Any,
    *,
    method: Method = "n2v",
    epochs: int | None = None,
    steps_per_epoch: int = 50,
    batch_size: int = 16,
    patch: int = 64,
    width: int = 16,
    depth: int = 2,
    context: int | None = None,
    learning_rate: float = 4e-4,
    mask_fraction: float = 0.02,
    seed: int = 0,
    progress: bool = False,
) -> Denoiser:
    """Train a self-supervised denoiser on the movie itself (no clean images).

    Parameters
    ----------
    movie : (T, [Z,] Y, X) array
        The noisy movie (3D: every Z plane of every frame is a training image).
    method : {"n2v", "temporal"}
        Blind-spot (single frame) or predict-from-neighbours (needs >= 3 frames).
    epochs, steps_per_epoch, batch_size, patch : int
        Training length: ``epochs * steps_per_epoch`` Adam steps on random
        ``patch`` x ``patch`` crops (smaller frames use the whole frame, cut to a
        multiple of ``2 ** depth``). Random flips and 90-degree rotations augment. ``epochs``
        None: :data:`DEFAULT_EPOCHS` of the method (n2v 20, temporal 10).
    width : int
        Channels of the U-Net's first level.
    depth : int
        Pooling levels of the U-Net (2: receptive field about 40 px; each level
        doubles it). Patches are cut to a multiple of ``2 ** depth``.
    context : int
        n2v only: frames on each side of the denoised one that the network also sees
        (0: the frame alone). The blind spot is in the middle frame only: the
        neighbours' noise is independent of it, so they add photons where the scene
        holds still and the network learns from the movie how far to trust them
        where it moves. Needs at least ``2 * context + 1`` frames. None: n2v's
        :data:`DEFAULT_CONTEXT`, cut to what the movie has frames for (0 for temporal).
    mask_fraction : float
        n2v: fraction of pixels masked per patch.
    seed : int
        Seeds numpy and torch: the same seed gives the same weights.
    progress : bool
        Show a tqdm progress bar over epochs.

    Returns
    -------
    Denoiser
        Call it on a movie to denoise; ``.state`` to save.

    Raises
    ------
    InputError
        Bad movie, or fewer than 3 frames for ``temporal`` (``2 * context + 1`` for
        n2v with context).
    ConfigError
        Unknown method.
    """
    require_torch("the self-supervised denoiser")
    import torch

    if method not in ("n2v", "temporal"):
        raise ConfigError(f"unknown learned denoiser {method!r}; one of n2v, temporal")
    if epochs is None:
        epochs = DEFAULT_EPOCHS[method]
    arr = check_denoise_input(movie)
    if method == "temporal" and arr.shape[0] < 3:
        raise InputError(f"temporal denoising needs at least 3 frames; got {arr.shape[0]}")
    if context is None:
        context = min(DEFAULT_CONTEXT, (arr.shape[0] - 1) // 2) if method == "n2v" else 0
    if context < 0 or (context and method != "n2v"):
        raise ConfigError(f"context must be 0, or >= 1 with n2v; got {context} with {method}")
    if context and arr.shape[0] < 2 * context + 1:
        raise InputError(f"n2v with {context} frame(s) of context on each side needs at "
                         f"least {2 * context + 1} frames; got {arr.shape[0]}")
    planes = _planes(arr)
    mean, std = float(planes.mean()), float(planes.std())
    norm = (planes - mean) / std
    nz, nt, h, w = norm.shape
    if depth < 1:
        raise ConfigError(f"denoiser depth must be at least 1; got {depth}")
    mult = 2**depth
    p = min(patch, h // mult * mult, w // mult * mult)
    if p < mult:
        raise InputError(f"frames of {h}x{w} px are too small for a depth-{depth} "
                         f"denoiser (at least {mult}x{mult} px)")
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    net = _unet(_channels(method, context), width, depth, residual=method == "temporal")
    opt = torch.optim.Adam(net.parameters(), lr=learning_rate)
    losses: list[float] = []
    epochs_it = range(epochs)
    if progress:
        from tqdm.auto import tqdm
        epochs_it = tqdm(epochs_it, desc=f"train ({method})", unit="epoch")
    for _ in epochs_it:
        total = 0.0
        for _ in range(steps_per_epoch):
            xs, ys = [], []
            for _ in range(batch_size):
                z, t = int(rng.integers(nz)), int(rng.integers(nt))
                y0, x0 = int(rng.integers(h - p + 1)), int(rng.integers(w - p + 1))
                inp = _inputs(norm[z], t, method, context)[:, y0:y0 + p, x0:x0 + p]
                tgt = norm[z, t, y0:y0 + p, x0:x0 + p][None]
                k = int(rng.integers(4))
                inp, tgt = np.rot90(inp, k, (1, 2)), np.rot90(tgt, k, (1, 2))
                if rng.random() < 0.5:
                    inp, tgt = inp[:, :, ::-1], tgt[:, :, ::-1]
                xs.append(inp)
                ys.append(tgt)
            x = np.ascontiguousarray(np.stack(xs), dtype=np.float32)
            y = np.ascontiguousarray(np.stack(ys), dtype=np.float32)
            if method == "n2v":
                x, m = _n2v_mask(x, rng, mask_fraction, channel=context)
                mask = torch.from_numpy(m)
            else:
                mask = torch.ones(y.shape, dtype=torch.bool)
            pred = net(torch.from_numpy(x))
            loss = ((pred - torch.from_numpy(y))[mask] ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach())
        losses.append(total / steps_per_epoch)
    weights = {k: v.detach().clone() for k, v in net.state_dict().items()}
    return Denoiser(method=method, width=width, mean=mean, std=std, weights=weights,
                    losses=losses, depth=depth, context=context)


def denoise_learned(movie: Any, *, method: Method = "n2v", tile: int = 256,
                    progress: bool = False, **train_kwargs: Any) -> np.ndarray:
    """Train on `movie` (see :func:`train_denoiser`) and denoise it; float32."""
    model = train_denoiser(movie, method=method, progress=progress, **train_kwargs)
    return model(movie, tile=tile, progress=progress)

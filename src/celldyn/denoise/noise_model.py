"""Poisson-Gaussian noise model estimated from the user's own movie.

Model: a pixel with expected value ``mu`` has variance ``gain * mu + offset``
(shot noise scaled by the camera gain, plus read noise; ``offset`` absorbs the read
noise variance and the black level, ``offset = sigma_read**2 - gain * black``).

Estimate (ours, written by hand, numpy only; the approach of Foi et al., *Practical
Poissonian-Gaussian noise modeling and fitting for single-image raw-data*, IEEE TIP
17(10), 2008 — local means and variances in smooth regions, grouped by level, a robust
straight-line fit — in a block form): every plane is cut into 8x8 blocks; per block the
mean and the noise variance from horizontal and vertical pixel differences (half the
variance of the differences about their block mean, which removes smooth structure and
linear ramps). Blocks are grouped into bins of equal count by a *key* that does not use
the block's own pixels, the mean of its 4 neighbouring blocks; blocks whose neighbours
differ most (the top fifth per bin, an edge nearby) are left out, judged on the
neighbours too. Per bin the mean of the blocks' own means and the mean of their own
variances; the gain and offset are a Huber-weighted least-squares line through the bins
(weights from each bin's standard error).

Why the key is the neighbours' mean and the bin statistic is the mean: grouping blocks
by their *own* noisy mean (as this module did before) puts the blocks whose noise
happened to be high in the high bins: the bins' means spread by the noise of a block
mean (a read-noise sigma of 2 gives 0.25 over 64 px), not by the signal, while their
variances stay the same, so the slope is pulled towards 0 (errors-in-variables,
regression dilution): on HeLa frames with a true gain of 1 it gave 0.61 at a peak of 30
photons, 0.39 at 10 and 0.09 at 3. With a key independent of the block's noise, each
bin's expected variance is exactly ``gain * (its expected mean) + offset``. The median
of the variances (used before) is biased low for Poisson noise at a few photons (the
sample variance is skewed), so the mean is used; edges are kept out by the neighbour
test instead. Measured on those frames (Fluo-N2DL-HeLa-01 frames 12-17, gain 1, read
noise sigma 2, three noise draws each): 1.03 to 1.07 at peaks of 10 to 100 photons (the
frames' own camera noise adds a little), 0.88 to 1.16 at 3 photons; the offset 4.0 to
4.1 throughout (benchmarks/RESULTS.md, "Denoising", has the levels it scores).

Where it is weak: the gain is the slope over the movie's intensity range, so it is only
as well determined as that range is wide compared with the noise: a movie whose objects
rise a fraction of a photon above the read noise (HeLa frames at a peak of 1 photon:
mean levels spanning 0.03 photons) gives a gain anywhere from 0.5 to 1.1 between two
noise draws. Clipped data (values cut at 0 or at saturation) is not modelled; blocks
that touch the clip bias their bins. The offset (read-noise variance) is well
determined throughout.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InputError
from ._checks import check_denoise_input

__all__ = ["NoiseModel", "estimate_noise_model"]


@dataclass(frozen=True)
class NoiseModel:
    """Variance = ``gain * mean + offset`` (Poisson-Gaussian)."""

    gain: float
    offset: float

    def variance(self, mean: Any) -> np.ndarray:
        """Noise variance at expected intensity `mean` (clipped at 0)."""
        return np.maximum(self.gain * np.asarray(mean, float) + self.offset, 0.0)

    def rescaled(self, low: float, high: float) -> NoiseModel:
        """This model in the units of ``(x - low) / (high - low)``.

        For ``x = low + s * y`` (``s = high - low``): ``var(y) = var(x) / s**2 =
        (gain / s) * y + (gain * low + offset) / s**2``. Segmentation training works on
        percentile-normalised images, so the model estimated on the raw movie is brought
        to those units with the movie's own percentiles (see ``celldyn train segment
        --noise-from``).

        Examples
        --------
        >>> NoiseModel(gain=2.0, offset=4.0).rescaled(10.0, 110.0)
        NoiseModel(gain=0.02, offset=0.0024)
        """
        s = float(high) - float(low)
        if not s > 0:
            raise InputError(f"rescaling needs high > low; got {low}, {high}")
        return NoiseModel(gain=self.gain / s, offset=(self.gain * low + self.offset) / s**2)

    def add_noise(self, clean: Any, *, rng: np.random.Generator | int | None = None
                  ) -> np.ndarray:
        """Sample a noisy image from `clean` under this model (augmentation).

        Shot noise is Poisson on ``clean / gain`` counts (scaled back by ``gain``), the
        remaining variance (``offset``, if positive) is Gaussian.

        Examples
        --------
        >>> m = NoiseModel(gain=2.0, offset=4.0)
        >>> noisy = m.add_noise(np.full((200, 200), 100.0), rng=0)
        >>> abs(float(noisy.var()) - 204.0) < 10
        True
        """
        rng = np.random.default_rng(rng)
        clean = np.clip(np.asarray(clean, float), 0, None)
        if self.gain > 0:
            shot = rng.poisson(clean / self.gain) * self.gain
        else:
            shot = clean
        return (shot + rng.normal(scale=np.sqrt(max(self.offset, 0.0)), size=clean.shape)
                ).astype(np.float32)


def _block_stats(frame: np.ndarray, block: int
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per block: own mean, own noise variance, the mean of its 4 neighbouring blocks
    (the grouping key) and their spread (max - min); flat arrays, blocks without a
    neighbour left out."""
    planes = frame.reshape(-1, *frame.shape[-2:])
    nby, nbx = planes.shape[-2] // block, planes.shape[-1] // block
    f = planes[:, :nby * block, :nbx * block].reshape(len(planes), nby, block, nbx, block)
    f = f.transpose(0, 1, 3, 2, 4).astype(np.float64)
    means = f.mean(axis=(3, 4))
    dx = np.diff(f, axis=4).reshape(*f.shape[:3], -1)
    dy = np.diff(f, axis=3).reshape(*f.shape[:3], -1)
    # each direction's own mean removed: a linear ramp does not inflate the variance
    var = (dx.var(axis=-1, ddof=1) + dy.var(axis=-1, ddof=1)) / 4.0
    padded = np.pad(means, ((0, 0), (1, 1), (1, 1)), constant_values=np.nan)
    nb = np.stack([padded[:, :-2, 1:-1], padded[:, 2:, 1:-1],
                   padded[:, 1:-1, :-2], padded[:, 1:-1, 2:]])
    seen = np.isfinite(nb)
    count = seen.sum(axis=0)
    ok = (count > 0).ravel()
    key = (np.where(seen, nb, 0.0).sum(axis=0) / np.maximum(count, 1)).ravel()
    spread = (np.where(seen, nb, -np.inf).max(axis=0)
              - np.where(seen, nb, np.inf).min(axis=0)).ravel()
    return means.ravel()[ok], var.ravel()[ok], key[ok], spread[ok]


def _huber_line(x: np.ndarray, y: np.ndarray, se: np.ndarray, *, k: float = 1.345,
                iterations: int = 20) -> tuple[float, float]:
    """Slope and intercept of ``y ~ a x + b``: least squares weighted by 1/se, then
    Huber reweighting of the standardised residuals (scale from their MAD)."""
    design = np.stack([x, np.ones_like(x)], axis=1)
    base = 1.0 / np.maximum(se, 1e-12 * max(float(np.abs(y).max()), 1e-300))
    w = base
    for _ in range(iterations):
        (a, b), *_ = np.linalg.lstsq(design * w[:, None], y * w, rcond=None)
        r = (y - (a * x + b)) * base
        scale = 1.4826 * float(np.median(np.abs(r)))
        if scale <= 0:
            break
        u = np.abs(r) / (k * scale)
        w = base * np.sqrt(np.where(u <= 1, 1.0, 1.0 / np.maximum(u, 1e-300)))
    return float(a), float(b)


def estimate_noise_model(movie: Any, *, block: int = 8, n_bins: int = 16,
                         edge_share: float = 0.2) -> NoiseModel:
    """Estimate Poisson-Gaussian gain and offset from a noisy movie.

    Parameters
    ----------
    movie : (T, [Z,] Y, X) array
        The user's raw movie (not rescaled: the gain is in the movie's units).
    block : int
        Block size in pixels.
    n_bins : int
        Number of intensity bins (equal block counts) for the fit.
    edge_share : float
        Share of blocks left out per bin, those whose neighbouring blocks differ most.

    Returns
    -------
    NoiseModel

    Raises
    ------
    InputError
        If the movie is bad (see :func:`check_denoise_input`) or has too few blocks.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> clean = np.tile(np.linspace(10, 200, 128), (4, 128, 1))
    >>> noisy = NoiseModel(gain=2.0, offset=9.0).add_noise(clean, rng=rng)
    >>> m = estimate_noise_model(noisy)
    >>> bool(abs(m.gain - 2.0) < 0.2), bool(0 < m.offset < 20)
    (True, True)
    """
    arr = check_denoise_input(movie)
    means, var, key, spread = _block_stats(arr, block)
    if means.size < 4 * n_bins:
        raise InputError(
            f"movie too small to estimate noise: {means.size} blocks of {block}x{block} px"
        )
    groups = np.array_split(np.argsort(key, kind="stable"), n_bins)
    if edge_share > 0:   # judged on the neighbours only: independent of the block's noise
        groups = [g[spread[g] <= np.quantile(spread[g], 1.0 - edge_share)] for g in groups]
    mu = np.array([means[g].mean() for g in groups])
    v = np.array([var[g].mean() for g in groups])
    se = np.array([var[g].std(ddof=1) / np.sqrt(len(g)) for g in groups])
    gain, offset = _huber_line(mu, v, se)
    return NoiseModel(gain=gain, offset=offset)

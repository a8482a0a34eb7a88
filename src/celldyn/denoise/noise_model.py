"""Poisson-Gaussian noise model estimated from the user's own movie.

Model: a pixel with expected value ``mu`` has variance ``gain * mu + offset``
(shot noise scaled by the camera gain, plus read noise; ``offset`` absorbs the read
noise variance and the black level, ``offset = sigma_read**2 - gain * black``).

Estimate (ours, written by hand; the idea follows Foi et al., *Practical
Poissonian-Gaussian noise modeling and fitting for single-image raw-data*, IEEE TIP
17(10), 2008, simplified): every frame is cut into 8x8 blocks; per block we take the
mean and the noise variance from horizontal and vertical pixel differences (half the
variance of the differences about their block mean, which removes smooth structure
and linear ramps); blocks are grouped into
bins of equal count by mean, the median variance per bin (robust to textured blocks,
corrected for the median of a chi-square) is fitted by least squares against the
bin's mean. Edges of objects inflate block variances; the median keeps most of that
out, but a movie with almost no flat area will over-estimate the gain.

Where it is weak (measured in benchmarks/RESULTS.md, "Denoising"): the gain is the slope
over the movie's intensity range, so a photon-starved movie whose objects rise only a few
photons above a read noise that dominates (most blocks background, few bins on the
objects) gets a gain estimated too low (HeLa frames at a peak of 10 photons: about 0.4
for a true 1). The offset (read-noise variance) is still close there; the test checks
gain and offset on ramps and blobs with tens to hundreds of photons.
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


def _block_stats(frame: np.ndarray, block: int) -> tuple[np.ndarray, np.ndarray]:
    h = frame.shape[-2] // block * block
    w = frame.shape[-1] // block * block
    f = frame[..., :h, :w].reshape(-1, h // block, block, w // block, block)
    f = f.transpose(0, 1, 3, 2, 4).reshape(-1, block, block).astype(np.float64)
    means = f.mean(axis=(1, 2))
    dx = np.diff(f, axis=2).reshape(len(f), -1)
    dy = np.diff(f, axis=1).reshape(len(f), -1)
    # each direction's own mean removed: a linear ramp does not inflate the variance
    var = (dx.var(axis=1, ddof=1) + dy.var(axis=1, ddof=1)) / 4.0
    return means, var


def estimate_noise_model(movie: Any, *, block: int = 8, n_bins: int = 16) -> NoiseModel:
    """Estimate Poisson-Gaussian gain and offset from a noisy movie.

    Parameters
    ----------
    movie : (T, [Z,] Y, X) array
        The user's raw movie (not rescaled: the gain is in the movie's units).
    block : int
        Block size in pixels.
    n_bins : int
        Number of intensity bins (equal block counts) for the fit.

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
    means, var = _block_stats(arr, block)
    if means.size < 4 * n_bins:
        raise InputError(
            f"movie too small to estimate noise: {means.size} blocks of {block}x{block} px"
        )
    order = np.argsort(means)
    groups = np.array_split(order, n_bins)
    mu = np.array([means[g].mean() for g in groups])
    dof = 2 * (block * (block - 1) - 1)
    # median of chi2(k)/k ~ (1 - 2/(9k))**3 (Wilson-Hilferty)
    med_corr = (1 - 2 / (9 * dof)) ** 3
    v = np.array([np.median(var[g]) for g in groups]) / med_corr
    design = np.stack([mu, np.ones_like(mu)], axis=1)
    (gain, offset), *_ = np.linalg.lstsq(design, v, rcond=None)
    return NoiseModel(gain=float(gain), offset=float(offset))

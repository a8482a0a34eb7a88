"""Classical denoisers: thin wrappers over scikit-image, frame by frame.

We delegate the filtering to scikit-image (:func:`skimage.restoration.denoise_nl_means`,
:func:`~skimage.restoration.denoise_wavelet`, :func:`~skimage.restoration.denoise_tv_chambolle`)
and the noise level to :func:`skimage.restoration.estimate_sigma` (wavelet MAD, per frame).
``estimate_sigma`` and ``denoise_wavelet`` need PyWavelets; where it is missing,
:func:`frame_sigma` falls back to the same MAD estimator on the finest Haar diagonal
coefficients (ours, a few lines), and the wavelet method raises
MissingDependencyError. Ours is only the per-frame loop over T(Z)YX movies, that
fallback and the parameter defaults. 3D frames (TZYX) are filtered as volumes
(scikit-image handles 3D natively).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from skimage.restoration import (
    denoise_nl_means,
    denoise_tv_chambolle,
    denoise_wavelet,
    estimate_sigma,
)

from ..errors import MissingDependencyError
from ._checks import check_denoise_input

__all__ = ["denoise_nlmeans", "denoise_tv", "denoise_wavelet_movie", "frame_sigma"]


def frame_sigma(frame: np.ndarray) -> float:
    """Gaussian noise sigma of one frame (2D or 3D): skimage's estimate_sigma, or,
    without PyWavelets, median(|HH|) / 0.6745 on the finest Haar diagonal band.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> round(frame_sigma(rng.normal(scale=2.0, size=(128, 128))), 1)
    2.0
    """
    try:
        return float(estimate_sigma(frame))
    except ImportError:
        f = np.asarray(frame, np.float64)
        f = f[..., : f.shape[-2] // 2 * 2, : f.shape[-1] // 2 * 2]
        hh = (f[..., ::2, ::2] - f[..., 1::2, ::2] - f[..., ::2, 1::2]
              + f[..., 1::2, 1::2]) / 2.0
        return float(np.median(np.abs(hh)) / 0.6745)


def denoise_nlmeans(
    movie: Any, *, h: float = 0.8, patch_size: int = 5, patch_distance: int = 6
) -> np.ndarray:
    """Non-local means per frame, with sigma estimated on each frame.

    Parameters
    ----------
    movie : (T, [Z,] Y, X) array
        Noisy movie.
    h : float
        Filter strength as a multiple of the estimated noise sigma (scikit-image's
        suggestion for ``fast_mode`` with ``sigma`` given is about 0.8).
    patch_size, patch_distance : int
        Patch size and search radius in pixels.

    Returns
    -------
    (T, [Z,] Y, X) float32 array

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> noisy = 10 + rng.normal(size=(2, 16, 16))
    >>> float(denoise_nlmeans(noisy).std()) < float(noisy.std())
    True
    """
    arr = check_denoise_input(movie)
    out = np.empty_like(arr)
    for t, frame in enumerate(arr):
        sigma = frame_sigma(frame)
        out[t] = denoise_nl_means(
            frame, h=h * sigma, sigma=sigma, patch_size=patch_size,
            patch_distance=patch_distance, fast_mode=True,
        )
    return out


def denoise_wavelet_movie(movie: Any) -> np.ndarray:
    """BayesShrink wavelet denoising per frame (sigma estimated per frame).

    Examples
    --------
    Needs PyWavelets (not a celldyn dependency).
    """
    try:
        import pywt  # noqa: F401
    except ImportError:
        raise MissingDependencyError(
            "wavelet denoising needs PyWavelets: pip install PyWavelets "
            "(or use --method nlmeans / tv)") from None
    arr = check_denoise_input(movie)
    out = np.empty_like(arr)
    for t, frame in enumerate(arr):
        lo, hi = float(frame.min()), float(frame.max())
        scaled = (frame - lo) / (hi - lo)
        den = denoise_wavelet(scaled, method="BayesShrink", mode="soft",
                              rescale_sigma=True)
        out[t] = den * (hi - lo) + lo
    return out


def denoise_tv(movie: Any, *, weight: float = 1.0) -> np.ndarray:
    """Total-variation (Chambolle) denoising per frame.

    `weight` is in units of the frame's estimated noise sigma (scikit-image's weight
    is absolute, so we scale it by the sigma that :func:`estimate_sigma` finds).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> noisy = 10 + rng.normal(size=(2, 16, 16))
    >>> float(denoise_tv(noisy).std()) < float(noisy.std())
    True
    """
    arr = check_denoise_input(movie)
    out = np.empty_like(arr)
    for t, frame in enumerate(arr):
        sigma = frame_sigma(frame)
        out[t] = denoise_tv_chambolle(frame, weight=weight * sigma)
    return out

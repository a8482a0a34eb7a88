"""Denoise stage: classical (scikit-image) and self-supervised (PyTorch) denoisers.

Pure functions on (T, [Z,] Y, X) arrays; float32 out, same shape. One entry,
:func:`denoise_movie`; the methods:

- ``nlmeans``, ``wavelet``, ``tv``: scikit-image, frame by frame (:mod:`.classical`)
- ``n2v``: blind-spot U-Net trained on the movie itself, seeing the frames on each side
  of the one it denoises (:mod:`.learned`)
- ``temporal``: U-Net predicting frame t from t-1 and t+1 (:mod:`.learned`; its
  docstring says where motion breaks it)

and :func:`estimate_noise_model` (Poisson-Gaussian gain and offset from the movie).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ConfigError
from .classical import denoise_nlmeans, denoise_tv, denoise_wavelet_movie
from .learned import Denoiser, denoise_learned, train_denoiser
from .noise_model import NoiseModel, estimate_noise_model

__all__ = [
    "METHODS",
    "Denoiser",
    "NoiseModel",
    "denoise_learned",
    "denoise_movie",
    "denoise_nlmeans",
    "denoise_tv",
    "denoise_wavelet_movie",
    "estimate_noise_model",
    "train_denoiser",
]

METHODS = ("nlmeans", "wavelet", "tv", "n2v", "temporal")


def denoise_movie(movie: Any, *, method: str = "nlmeans", seed: int = 0,
                  progress: bool = False, **params: Any) -> np.ndarray:
    """Denoise a (T, [Z,] Y, X) movie with one of :data:`METHODS`.

    Parameters
    ----------
    movie : (T, [Z,] Y, X) array
        Noisy intensities (any numeric dtype; NaN and constant frames are errors).
    method : str
        ``nlmeans``, ``wavelet``, ``tv`` (classical), ``n2v`` or ``temporal``
        (trained on this movie, see :func:`train_denoiser`).
    seed : int
        Seed of the learned methods (ignored by the classical ones).
    progress : bool
        Progress bars for the learned methods.
    **params
        Passed to the method's function.

    Returns
    -------
    (T, [Z,] Y, X) float32 array

    Raises
    ------
    InputError
        Bad movie (wrong dimensions, NaN, constant frames).
    ConfigError
        Unknown method.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> noisy = 10 + rng.normal(size=(2, 16, 16))
    >>> denoise_movie(noisy, method="tv").shape
    (2, 16, 16)
    """
    if method == "nlmeans":
        return denoise_nlmeans(movie, **params)
    if method == "wavelet":
        return denoise_wavelet_movie(movie, **params)
    if method == "tv":
        return denoise_tv(movie, **params)
    if method in ("n2v", "temporal"):
        return denoise_learned(movie, method=method, seed=seed,  # type: ignore[arg-type]
                               progress=progress, **params)
    raise ConfigError(f"unknown denoising method {method!r}; one of {', '.join(METHODS)}")

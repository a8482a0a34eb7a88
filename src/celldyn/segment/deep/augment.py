"""Seeded data augmentation for segmentation training: crops with geometry and intensity.

:func:`sample_crop` draws one training crop from an image and its instance labels in a
single interpolation: a random centre (half of the time on an object), a random
scale (times the image's own ``zoom``, which brings its nuclei to the model's working
diameter), a random rotation, and a smooth elastic displacement field; then exact
flips and 90° rotations. Labels are resampled with nearest neighbour, so ids stay
whole. :func:`augment_intensity` then applies contrast inversion (off unless
``invert_p`` is set), intensity scaling and offset, gamma, Gaussian blur and
Poisson-Gaussian noise to the image only: random levels by default,
or the user's own noise model (``AugmentConfig.noise_model``, estimated from their movie
by :func:`celldyn.denoise.estimate_noise_model`) so that a model trained on cleaner
annotated images sees the noise of the movies it will segment.

Every random draw comes from the ``numpy.random.Generator`` passed in: the same
generator state gives the same crop (tested). 3D stacks ``(Z, Y, X)`` are rotated,
scaled and deformed in Y and X only; Z is cropped as is (or kept whole when shorter
than the crop).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import ndimage as ndi

__all__ = ["AugmentConfig", "augment_intensity", "foreground_index", "sample_crop"]


@dataclass(frozen=True)
class AugmentConfig:
    """Ranges of the random transforms (the defaults are what the shipped model used)."""

    scale: tuple[float, float] = (0.7, 1.4)      # zoom factor, log-uniform
    rotate: bool = True                          # any angle in the YX plane
    elastic_alpha: float = 4.0                   # displacement amplitude, output pixels
    elastic_sigma: float = 12.0                  # smoothness of the displacement
    flip: bool = True
    rot90: bool = True
    intensity_scale: tuple[float, float] = (0.6, 1.4)
    intensity_offset: float = 0.1
    gamma: tuple[float, float] = (0.6, 1.6)
    blur_sigma: tuple[float, float] = (0.0, 1.2)
    blur_p: float = 0.3
    noise_p: float = 0.5
    poisson_peak: tuple[float, float] = (10.0, 200.0)  # photons at intensity 1
    gauss_sigma: tuple[float, float] = (0.0, 0.05)
    foreground_p: float = 0.5                    # crop centres drawn on objects
    # share of crops shown with inverted contrast (1 - image, before the other
    # intensity steps): dark objects on a bright background (phase-contrast bacteria)
    # and bright ones on a dark background (fluorescence) become one task. 0 (the
    # shipped models) draws no random number for it, so earlier streams are unchanged
    invert_p: float = 0.0
    # (gain, offset) of a Poisson-Gaussian noise model in the units of the normalised
    # training images (``celldyn.denoise.NoiseModel.rescaled``): when set, the noise
    # step samples the user's own measured noise instead of the random ranges above
    noise_model: tuple[float, float] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def none(cls) -> AugmentConfig:
        """No augmentation at all (plain random crops)."""
        return cls(scale=(1.0, 1.0), rotate=False, elastic_alpha=0.0, flip=False,
                   rot90=False, intensity_scale=(1.0, 1.0), intensity_offset=0.0,
                   gamma=(1.0, 1.0), blur_p=0.0, noise_p=0.0)


def _uniform(rng: np.random.Generator, lo_hi: tuple[float, float]) -> float:
    lo, hi = lo_hi
    return float(lo) if hi <= lo else float(rng.uniform(lo, hi))


def sample_crop(
    image: np.ndarray,
    labels: np.ndarray,
    size: int,
    rng: np.random.Generator,
    config: AugmentConfig = AugmentConfig(),
    *,
    zoom: float = 1.0,
    z_size: int | None = None,
    fg_index: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """One augmented ``size x size`` crop (float32 image, int32 labels).

    Parameters
    ----------
    image, labels : ([Z,] Y, X) arrays
    size : int
        Crop side in Y and X (output pixels).
    rng : numpy Generator
    zoom : float
        Output pixels per input pixel before the random scale (e.g. 0.5 halves the
        image, bringing 60-pixel nuclei to 30).
    z_size : int, optional
        Z extent of a 3D crop (default: the whole stack).
    fg_index : int array, optional
        :func:`foreground_index` of `labels`, precomputed (the training loop draws
        thousands of crops from the same images); same crops as without it.
    """
    ndim = image.ndim
    ny, nx = image.shape[-2:]
    s = float(np.exp(rng.uniform(np.log(config.scale[0]), np.log(config.scale[1]))))
    step = 1.0 / (zoom * s)            # input pixels per output pixel
    if fg_index is None and config.foreground_p > 0:
        fg_index = foreground_index(labels)
    if rng.random() < config.foreground_p and fg_index is not None and fg_index.size:
        idx = fg_index
        c = np.unravel_index(int(idx[rng.integers(idx.size)]), (ny, nx))
        cy, cx = float(c[0]), float(c[1])
    else:
        cy, cx = rng.uniform(0, ny - 1), rng.uniform(0, nx - 1)
    theta = rng.uniform(0, 2 * np.pi) if config.rotate else 0.0
    g = (np.arange(size, dtype=np.float64) - (size - 1) / 2) * step
    gy, gx = np.meshgrid(g, g, indexing="ij")
    cos, sin = np.cos(theta), np.sin(theta)
    yy = cy + cos * gy - sin * gx
    xx = cx + sin * gy + cos * gx
    if config.elastic_alpha > 0:
        for arr in (yy, xx):
            field = ndi.gaussian_filter(rng.standard_normal((size, size)),
                                        config.elastic_sigma, mode="reflect")
            field *= config.elastic_alpha * step / (field.std() + 1e-8)
            arr += field
    if ndim == 2:
        coords = np.stack([yy, xx])
        img = ndi.map_coordinates(np.asarray(image, dtype=np.float32), coords, order=1, mode="mirror")
        lab = ndi.map_coordinates(labels, coords, order=0, mode="mirror")
    else:
        nz = image.shape[0]
        zs = nz if z_size is None else min(int(z_size), nz)
        z0 = int(rng.integers(0, nz - zs + 1))
        img = np.empty((zs, size, size), dtype=np.float32)
        lab = np.empty((zs, size, size), dtype=labels.dtype)
        coords = np.stack([yy, xx])
        for k in range(zs):
            img[k] = ndi.map_coordinates(np.asarray(image[z0 + k], dtype=np.float32), coords, order=1,
                                         mode="mirror")
            lab[k] = ndi.map_coordinates(labels[z0 + k], coords, order=0, mode="mirror")
    if config.flip:
        for ax in (-1, -2):
            if rng.random() < 0.5:
                img, lab = np.flip(img, ax), np.flip(lab, ax)
    if config.rot90:
        k = int(rng.integers(4))
        img, lab = np.rot90(img, k, axes=(-2, -1)), np.rot90(lab, k, axes=(-2, -1))
    return np.ascontiguousarray(img, dtype=np.float32), np.ascontiguousarray(lab, dtype=np.int32)


def foreground_index(labels: np.ndarray) -> np.ndarray:
    """Flat YX indices of object pixels (any Z for a stack): where crops may centre."""
    ny, nx = labels.shape[-2:]
    return np.flatnonzero(labels.reshape(-1, ny * nx).max(axis=0) > 0 if labels.ndim == 3
                          else labels.ravel() > 0)


def augment_intensity(
    image: np.ndarray, rng: np.random.Generator, config: AugmentConfig = AugmentConfig()
) -> np.ndarray:
    """Random inversion, intensity scale/offset, gamma, blur and Poisson-Gaussian noise.

    The image is expected roughly in [0, 1] (percentile-normalised).
    """
    img = np.asarray(image, dtype=np.float32)
    if config.invert_p > 0 and rng.random() < config.invert_p:
        img = np.float32(1.0) - img
    gamma = float(np.exp(rng.uniform(np.log(config.gamma[0]), np.log(config.gamma[1]))))
    if gamma != 1.0:
        img = np.clip(img, 0.0, None) ** np.float32(gamma)
    if rng.random() < config.blur_p:
        sigma = _uniform(rng, config.blur_sigma)
        if sigma > 0:
            axes_sigma = [0.0] * (img.ndim - 2) + [sigma, sigma]
            img = ndi.gaussian_filter(img, axes_sigma)
    if config.noise_model is not None and rng.random() < config.noise_p:
        gain, offset = (float(v) for v in config.noise_model)
        clipped = np.clip(img, 0.0, None)
        if gain > 0:
            img = (rng.poisson(clipped / gain) * gain).astype(np.float32)
        img += rng.normal(0.0, np.sqrt(max(offset, 0.0)), img.shape).astype(np.float32)
    elif config.noise_model is None and rng.random() < config.noise_p:
        peak = float(np.exp(rng.uniform(*np.log(config.poisson_peak))))
        lam = np.clip(img, 0.0, None) * peak
        img = (rng.poisson(lam).astype(np.float32) / np.float32(peak))
        img += rng.normal(0.0, _uniform(rng, config.gauss_sigma), img.shape).astype(np.float32)
    a = _uniform(rng, config.intensity_scale)
    b = float(rng.uniform(-config.intensity_offset, config.intensity_offset)) \
        if config.intensity_offset > 0 else 0.0
    return (img * np.float32(a) + np.float32(b)).astype(np.float32)

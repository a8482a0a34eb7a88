"""The voxel count of an object's 3D convex hull, row by row (ours).

scikit-image's ``regionprops`` solidity in 3D is ``area / area_convex``, where
``area_convex`` counts the voxels of :func:`skimage.morphology.convex_hull_image`: the
convex hull of the object's voxel corners (qhull), then every voxel centre of the
bounding box tested against every facet. That test is ``voxels x facets`` and was most
of a 3D movie's measurement time (the CHO movie: 10.6 of 10.9 s).

:func:`hull_voxel_count` builds the same hull from the same points (scipy's qhull, the
diamond offsets and row de-duplication scikit-image uses) and counts, for each (z, y)
row of the box, the x interval the facets leave: ``facets x rows`` instead of ``facets
x voxels``. The interval's ends are found by division, then the voxels at and beside
each end are tested with scikit-image's own inequality (its tolerance included), so the
count is the one ``convex_hull_image(image).sum()`` gives (tests/test_measure.py on
random shapes, flat and cut ones included; benchmarks/measure_3d.py on real 3D nuclei
masks); the row's inside voxels form one interval because the hull is convex. The whole
3D ``measure_objects`` call is 2-2.7x faster on real nuclei masks (CHO, PlantSeg; the
qhull hulls and the other properties now dominate), and far more on large sparse objects
whose boxes hold many voxels (a volume's intensity levels taken as labels: 133 s -> 6.5
s).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy.spatial import ConvexHull, QhullError
from skimage.util import unique_rows

__all__ = ["hull_voxel_count", "solidity_3d"]

TOLERANCE = 1e-10
"""scikit-image's default tolerance of ``convex_hull_image``."""

# the centres of a voxel's six faces, as scikit-image offsets the hull's points
_FACES = np.array([[-0.5, 0, 0], [0.5, 0, 0], [0, -0.5, 0], [0, 0.5, 0], [0, 0, -0.5],
                   [0, 0, 0.5]])


def _inside(grid: NDArray[np.int64], equations: NDArray[np.float64]) -> NDArray[np.bool_]:
    """Which points (columns of `grid`) satisfy every facet's inequality, computed as
    scikit-image computes it (one dot product per facet, then ``< TOLERANCE``)."""
    out = np.ones(grid.shape[1], bool)
    for eq in equations:
        out &= (np.dot(eq[:3], grid) + eq[3:]) < TOLERANCE
    return out


def hull_voxel_count(image: NDArray[np.bool_]) -> int:
    """The number of voxels of ``skimage.morphology.convex_hull_image(image)`` for a 3D
    boolean `image`; 0 where qhull finds no hull (a flat object), as scikit-image's
    empty hull.

    Examples
    --------
    >>> cube = np.zeros((5, 5, 5), bool)
    >>> cube[1:4, 1:4, 1:4] = True
    >>> cube[2, 2, 2] = False   # a hole: the hull fills it
    >>> hull_voxel_count(cube)
    27
    """
    coords = np.transpose(np.nonzero(image))
    try:
        first = ConvexHull(coords)
        corners = first.points[first.vertices]
        corners = unique_rows((corners[:, None, :] + _FACES).reshape(-1, 3))
        hull = ConvexHull(corners)
    except (QhullError, ValueError):
        return 0
    eq = hull.equations                      # inside: eq[:, :3] . p + eq[:, 3] < tol
    nz, ny, nx = image.shape
    zz, yy = (g.ravel() for g in np.meshgrid(np.arange(nz), np.arange(ny), indexing="ij"))
    rest = eq[:, 0:1] * zz + eq[:, 1:2] * yy + eq[:, 3:4]   # (facets, rows)
    a = eq[:, 2:3]
    with np.errstate(divide="ignore", invalid="ignore"):
        bound = (TOLERANCE - rest) / a
    hi = np.min(np.where(a > 0, bound, np.inf), axis=0)      # x < hi
    lo = np.max(np.where(a < 0, bound, -np.inf), axis=0)     # x > lo
    ok = np.all((a != 0) | (rest < TOLERANCE), axis=0)
    first_x, last_x = np.floor(lo) + 1, np.ceil(hi) - 1
    keep = ok & (last_x >= first_x - 2) & (last_x >= -1) & (first_x <= nx)
    f = np.clip(first_x[keep], -1, nx).astype(np.int64)
    last = np.clip(last_x[keep], -1, nx).astype(np.int64)
    # the voxels at and beside each end, each once, tested as scikit-image tests them
    xs = np.stack([f - 1, f, last, last + 1], axis=1)
    valid = (xs >= 0) & (xs < nx)
    valid[:, 2] &= (last != f - 1) & (last != f)
    valid[:, 3] &= (last + 1 != f - 1) & (last + 1 != f)
    r, c = np.nonzero(valid)
    grid = np.stack([zz[keep][r], yy[keep][r], xs[r, c]])
    ends = _inside(grid, eq)
    inner = np.maximum(0, last - f - 1)     # strictly between the ends: inside
    return int(inner.sum() + ends.sum())


def solidity_3d(pixel_volume: float = 1.0):
    """A ``regionprops`` extra property computing scikit-image's 3D ``solidity``
    (``area / area_convex``, both in units of `pixel_volume`, as scikit-image multiplies
    them) with :func:`hull_voxel_count`."""

    def convex_solidity(regionmask: NDArray[np.bool_]) -> float:
        n = np.sum(regionmask) * pixel_volume
        with np.errstate(divide="ignore", invalid="ignore"):
            return float(np.float64(n) / np.float64(hull_voxel_count(regionmask)
                                                    * pixel_volume))

    return convex_solidity

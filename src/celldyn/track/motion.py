"""Motion models: where a track is expected next.

``"none"``
    a detection stays where it is (pure distance costs).
``"constant_velocity"``
    the last displacement per frame is extrapolated: ``x + dt * (x - x_prev) / dt_prev``.
``"kalman"``
    a constant-velocity Kalman filter per track and axis (state: position and
    velocity; white-noise acceleration of variance ``q``, centroid noise ``r``), which
    smooths jittery centroids and lets the velocity of a new track grow from 0 as
    evidence comes in.

A track's velocity is estimated from its own past only: a node with one predecessor
continues it (daughters continue their mother, whose displacement they share at
birth), a node with none or two (a merge) starts afresh at rest.

:class:`MotionState` is updated frame by frame by the LAP solver;
:func:`track_velocities` replays a finished graph for the global solver's second pass.
Ours: a few lines of numpy, vectorised over the nodes of a frame.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from ..errors import ConfigError

__all__ = ["MotionState", "track_velocities"]


class MotionState:
    """Per-node motion estimates, filled in time order.

    Parameters
    ----------
    positions : (n, ndim) float array
        Physical centroids of all nodes.
    model : {"none", "constant_velocity", "kalman"}
    process_noise, measurement_noise : float
        Kalman ``q`` and ``r``, physical units squared (per frame for ``q``).
    """

    def __init__(
        self,
        positions: NDArray[np.float64],
        model: str = "none",
        *,
        process_noise: float = 1.0,
        measurement_noise: float = 0.1,
        initial_velocity_var: float = 1.0,
    ) -> None:
        if model not in ("none", "constant_velocity", "kalman"):
            raise ConfigError(f"unknown motion model {model!r}")
        self.model = model
        self.pos = np.asarray(positions, float)
        n = len(self.pos)
        self.xhat = self.pos.copy()
        self.v = np.zeros_like(self.pos)
        self.q = float(process_noise)
        self.r = float(measurement_noise)
        self.v0 = float(initial_velocity_var)
        # covariance of (position, velocity), shared by the axes of one node
        self.P = np.zeros((n, 2, 2))
        self.P[:, 0, 0] = self.r
        self.P[:, 1, 1] = self.v0

    def predict(self, nodes: NDArray[np.int64], dt: NDArray[np.int64] | int) -> NDArray:
        """Expected physical position of `nodes` after `dt` frames."""
        nodes = np.asarray(nodes, np.int64)
        dt = np.broadcast_to(np.asarray(dt, float), nodes.shape)
        return self.xhat[nodes] + dt[:, None] * self.v[nodes]

    def velocities(self) -> NDArray[np.float64]:
        """Current velocity estimate of every node (physical units per frame)."""
        return self.v.copy()

    def update(
        self,
        parents: NDArray[np.int64],
        children: NDArray[np.int64],
        dt: NDArray[np.int64] | int = 1,
    ) -> None:
        """Continue the tracks of `parents` into `children` (one link each)."""
        parents = np.asarray(parents, np.int64)
        children = np.asarray(children, np.int64)
        if parents.size == 0 or self.model == "none":
            return
        dt = np.broadcast_to(np.asarray(dt, float), parents.shape)
        z = self.pos[children]
        if self.model == "constant_velocity":
            self.v[children] = (z - self.pos[parents]) / dt[:, None]
            self.xhat[children] = z
            return
        # Kalman predict: F = [[1, dt], [0, 1]], Q = q [[dt^3/3, dt^2/2], [dt^2/2, dt]]
        P = self.P[parents]
        p00, p01, p11 = P[:, 0, 0], P[:, 0, 1], P[:, 1, 1]
        q = self.q
        m00 = p00 + 2 * dt * p01 + dt * dt * p11 + q * dt**3 / 3
        m01 = p01 + dt * p11 + q * dt**2 / 2
        m11 = p11 + q * dt
        x_pred = self.xhat[parents] + dt[:, None] * self.v[parents]
        v_pred = self.v[parents]
        # update with the measured centroid, H = [1, 0]
        s = m00 + self.r
        k0, k1 = m00 / s, m01 / s
        resid = z - x_pred
        self.xhat[children] = x_pred + k0[:, None] * resid
        self.v[children] = v_pred + k1[:, None] * resid
        newP = np.empty((len(children), 2, 2))
        newP[:, 0, 0] = (1 - k0) * m00
        newP[:, 0, 1] = newP[:, 1, 0] = (1 - k0) * m01
        newP[:, 1, 1] = m11 - k1 * m01
        self.P[children] = newP


def track_velocities(
    positions: NDArray[np.float64],
    t: NDArray[np.int64],
    parent: NDArray[np.int64],
    model: str,
    *,
    process_noise: float = 1.0,
    measurement_noise: float = 0.1,
    initial_velocity_var: float = 1.0,
) -> NDArray[np.float64]:
    """Velocity of every node from its track so far.

    Parameters
    ----------
    positions : (n, ndim) float array
        Physical centroids.
    t : (n,) int array
        Frames.
    parent : (n,) int array
        The single predecessor of each node, -1 for none (track starts or merges).
    model : {"none", "constant_velocity", "kalman"}

    Returns
    -------
    (n, ndim) float array, physical units per frame.

    Examples
    --------
    >>> pos = np.array([[0.0, 0.0], [1.0, 0.0], [3.0, 0.0]])
    >>> track_velocities(pos, np.array([0, 1, 2]), np.array([-1, 0, 1]),
    ...                  "constant_velocity")[:, 0].tolist()
    [0.0, 1.0, 2.0]
    """
    state = MotionState(
        positions, model, process_noise=process_noise,
        measurement_noise=measurement_noise, initial_velocity_var=initial_velocity_var,
    )
    t = np.asarray(t, np.int64)
    parent = np.asarray(parent, np.int64)
    has = np.flatnonzero(parent >= 0)
    if has.size and model != "none":
        # process children frame by frame so a parent's state is final when used
        order = has[np.argsort(t[has], kind="stable")]
        frames, starts = np.unique(t[order], return_index=True)
        for rows in np.split(order, starts[1:]):
            state.update(parent[rows], rows, t[rows] - t[parent[rows]])
    return state.velocities()

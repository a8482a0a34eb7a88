"""Simulated time-lapse movies of fluorescent nuclei with ground truth.

Objects are ellipses (2D) or ellipsoids (3D) with a smooth intensity profile that move
as persistent random walks, may divide, merge, leave the field of view and enter at its
borders. The movie is rendered with blur, a background level and Poisson-Gaussian noise;
the truth is the label movie (object id = track id, CTC convention), the CTC track
table and the tracks graph.

:func:`simulate_colony` makes the other kind of movie a tracker meets: a dense,
growing micro-colony of rod-shaped bacteria that divide across their middle and push
each other outwards (training data for tracking bacteria; the real E. coli movie in
``../shared/data`` is kept for testing).

This module is ours; numpy draws, ``scipy.ndimage`` blurs and the graph comes from
:func:`celldyn.track.graph.graph_from_ctc`. It is pure: nothing is read or written.

Rules that make the truth exact by construction
-----------------------------------------------
- Objects never overlap: moves are followed by a few rounds of pairwise repulsion of
  bounding spheres, and any pixel still claimed twice goes to the lower id.
- An object whose visible part falls below 20 % of its full size (it left the field of
  view, or was hidden) ends its track and never comes back; a track is therefore one
  contiguous run of frames.
- A division at frame ``t`` ends the parent's track at ``t``; its two daughters begin at
  ``t + 1`` with half the parent's volume each, placed apart along a random axis, and
  regrow towards the parent's size. Daughters cannot divide for 3 frames.
- A merge fuses two nearby objects at ``t`` into one new track at ``t + 1`` whose
  volume is their sum; CTC cannot encode it (its parent is 0 in ``table``), the graph
  holds both edges (in-degree 2).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import networkx as nx
import numpy as np
import pandas as pd
from scipy import ndimage as ndi

from .errors import InputError
from .movie import Movie
from .track.graph import CTC_COLUMNS, graph_from_ctc

__all__ = ["SimulatedMovie", "simulate_colony", "simulate_movie"]

_MIN_VISIBLE = 0.2  # fraction of an object's full size below which it vanishes
_MIN_CYCLE = 3  # frames after birth before a daughter may divide
_GROWTH = 0.15  # fraction of the gap to the adult size regained per frame


@dataclass(frozen=True)
class SimulatedMovie:
    """A simulated movie and its ground truth.

    Attributes
    ----------
    movie : Movie
        uint16 intensities, axes ``TYX`` or ``TZYX``, with spacing and frame interval.
    labels : (T, [Z,] Y, X) int32 array
        Instance masks; an object's id is its track id (0 = background).
    table : DataFrame
        CTC track table, columns ``label, begin, end, parent`` (frames inclusive).
    graph : networkx.DiGraph
        Tracks graph (see :mod:`celldyn.track.graph`); merges are in-degree 2.
    merges : DataFrame
        One row per merge edge: ``label`` (merged track) and ``parent``.
    """

    movie: Movie
    labels: np.ndarray
    table: pd.DataFrame
    graph: nx.DiGraph
    merges: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["label", "parent"], dtype=np.int64)
    )


@dataclass
class _Obj:
    id: int
    center: np.ndarray  # isotropic units (pixels along X)
    axes: np.ndarray  # semi-axes, isotropic units
    target: np.ndarray  # adult semi-axes
    rot: np.ndarray  # columns are the principal directions
    velocity: np.ndarray
    brightness: float
    born: int
    parents: tuple[int, ...] = ()
    merged: bool = False

    @property
    def bound(self) -> float:
        return float(self.axes.max())

    @property
    def volume(self) -> float:
        return float(np.prod(self.axes))


def _random_rotation(rng: np.random.Generator, ndim: int) -> np.ndarray:
    q, r = np.linalg.qr(rng.normal(size=(ndim, ndim)))
    return q * np.sign(np.diag(r))


def _check(name: str, ok: bool, expected: str, value: Any) -> None:
    if not ok:
        raise InputError(f"{name} must be {expected}; got {value!r}")


def simulate_movie(
    *,
    ndim: Literal[2, 3] = 2,
    n_frames: int = 10,
    shape: Sequence[int] | None = None,
    n_objects: int = 8,
    radius: tuple[float, float] = (4.0, 7.0),
    speed: float = 1.5,
    persistence: float = 0.7,
    drift: Sequence[float] | None = None,
    division_rate: float = 0.0,
    merge_rate: float = 0.0,
    merge_distance: float = 3.0,
    appear_rate: float = 0.0,
    boundary: Literal["reflect", "leave"] = "reflect",
    min_gap: float = 1.0,
    photons: float = 200.0,
    background: float = 100.0,
    read_noise: float = 2.0,
    noise: bool = True,
    blur: float = 1.0,
    spacing: Sequence[float] | None = None,
    frame_interval: float = 1.0,
    rng: int | np.random.Generator | None = None,
) -> SimulatedMovie:
    """Simulate a time-lapse movie of nuclei with its ground truth.

    Lengths (`radius`, `speed`, `drift`, `min_gap`, `merge_distance`, `blur`) are in
    pixels along X; with an anisotropic `spacing` the objects are round in physical
    space, so a Z semi-axis spans ``radius * spacing[-1] / spacing[0]`` slices.

    Parameters
    ----------
    ndim : {2, 3}
        Spatial dimensions.
    n_frames : int
        Number of frames T.
    shape : sequence of int, optional
        Frame shape, (Y, X) or (Z, Y, X). Default (64, 64) or (16, 64, 64).
    n_objects : int
        Objects at frame 0.
    radius : (float, float)
        Range of the semi-axes; each semi-axis of each object is drawn uniformly in it.
    speed : float
        Root-mean-square displacement per frame. It plays the part of the frame rate: a
        movie sampled half as often is the same movie with twice the speed (and twice
        the `division_rate`).
    persistence : float in [0, 1)
        Correlation of the velocity between frames (0 = Brownian).
    drift : sequence of float, optional
        Constant displacement per frame added to every object, per axis.
    division_rate : float in [0, 1]
        Probability per object and frame that it divides.
    merge_rate : float in [0, 1]
        Probability per frame that a pair of objects closer than `merge_distance`
        (between their bounding spheres) fuses.
    merge_distance : float
        Gap below which two objects may merge.
    appear_rate : float
        Expected number of objects entering at the Y/X borders per frame (Poisson).
    boundary : {"reflect", "leave"}
        ``"reflect"`` keeps objects inside the frame; ``"leave"`` lets them drift out
        and vanish.
    min_gap : float
        Smallest gap kept between the bounding spheres of two objects.
    photons : float
        Expected photon count at the centre of an object of brightness 1; sets the SNR
        (roughly ``sqrt(photons)`` for bright objects).
    background : float
        Background level in counts (it also carries Poisson noise).
    read_noise : float
        Standard deviation of the Gaussian read noise, in counts.
    noise : bool
        False renders the expected image (no Poisson or Gaussian noise).
    blur : float
        Sigma of the Gaussian point spread function; 0 for none.
    spacing : sequence of float, optional
        Pixel size per spatial axis in µm, stored on the movie. Default 1 per axis.
    frame_interval : float
        Seconds between frames, stored on the movie.
    rng : int, numpy.random.Generator or None
        Seed or generator; the same seed gives identical output.

    Returns
    -------
    SimulatedMovie
        ``movie`` (uint16), ``labels`` (int32), ``table``, ``graph`` and ``merges``.

    Raises
    ------
    InputError
        On invalid parameters, or when `n_objects` do not fit in the frame.

    Examples
    --------
    >>> sim = simulate_movie(n_frames=3, n_objects=4, rng=0)
    >>> sim.movie.data.shape, sim.labels.dtype.name, len(sim.table)
    ((3, 64, 64), 'int32', 4)
    """
    _check("ndim", ndim in (2, 3), "2 or 3", ndim)
    _check("n_frames", int(n_frames) >= 1, "a positive integer", n_frames)
    if shape is None:
        shape = (64, 64) if ndim == 2 else (16, 64, 64)
    shape = tuple(int(s) for s in shape)
    _check(
        "shape", len(shape) == ndim and min(shape) > 0, f"{ndim} positive sizes", shape
    )
    _check("n_objects", int(n_objects) >= 0, "a non-negative integer", n_objects)
    lo, hi = (float(r) for r in radius)
    _check("radius", 0 < lo <= hi, "(min, max) with 0 < min <= max", radius)
    _check("speed", speed >= 0, "non-negative", speed)
    _check("persistence", 0 <= persistence < 1, "in [0, 1)", persistence)
    for name, v in (("division_rate", division_rate), ("merge_rate", merge_rate)):
        _check(name, 0 <= v <= 1, "a probability in [0, 1]", v)
    _check("appear_rate", appear_rate >= 0, "non-negative", appear_rate)
    _check("boundary", boundary in ("reflect", "leave"), "'reflect' or 'leave'", boundary)
    _check("photons", photons > 0, "positive", photons)
    if spacing is None:
        spacing = (1.0,) * ndim
    spacing = tuple(float(s) for s in spacing)
    _check(
        "spacing",
        len(spacing) == ndim and all(s > 0 for s in spacing),
        f"{ndim} positive numbers",
        spacing,
    )
    drift_v = np.zeros(ndim) if drift is None else np.asarray(drift, dtype=float)
    _check("drift", drift_v.shape == (ndim,), f"{ndim} numbers", drift)

    rng = np.random.default_rng(rng)
    step = np.array(spacing) / spacing[-1]  # pixel size per axis, in X pixels
    extent = np.array(shape) * step  # frame size in isotropic units
    sim = _Simulator(
        rng=rng,
        ndim=ndim,
        shape=shape,
        step=step,
        extent=extent,
        radius=(lo, hi),
        speed=float(speed),
        persistence=float(persistence),
        drift=drift_v,
        min_gap=float(min_gap),
        boundary=boundary,
    )
    for _ in range(int(n_objects)):
        if not sim.place_new(t=0, at_border=False):
            raise InputError(
                f"could not place {n_objects} objects of radius {radius} in a frame of "
                f"shape {shape}; use fewer objects, smaller radii or a larger shape"
            )

    labels = np.zeros((int(n_frames), *shape), dtype=np.int32)
    clean = np.zeros((int(n_frames), *shape), dtype=np.float32)
    for t in range(int(n_frames)):
        if t > 0:
            sim.advance(t, division_rate, merge_rate, merge_distance, appear_rate)
        sim.render(t, labels[t], clean[t])

    movie_data = _add_noise(
        clean, rng, photons, background, read_noise, noise, blur / step
    )
    table = pd.DataFrame(
        sorted(sim.rows.values()), columns=CTC_COLUMNS, dtype=np.int64
    ).reset_index(drop=True)
    graph = graph_from_ctc(labels, table)
    merge_rows = []
    if sim.merge_edges:
        first: dict[int, int] = {}
        last: dict[int, int] = {}
        for node, d in sorted(graph.nodes(data=True), key=lambda nd: nd[1]["t"]):
            first.setdefault(d["seg_id"], node)
            last[d["seg_id"]] = node
        for child, parent in sim.merge_edges:
            if child in first and parent in last:
                graph.add_edge(last[parent], first[child])
                merge_rows.append((child, parent))
    merges = pd.DataFrame(merge_rows, columns=["label", "parent"], dtype=np.int64)
    movie = Movie(
        data=movie_data,
        axes="TYX" if ndim == 2 else "TZYX",
        spacing=spacing,
        frame_interval=float(frame_interval),
        name="simulated",
        metadata={"simulated": True},
    )
    return SimulatedMovie(movie=movie, labels=labels, table=table, graph=graph, merges=merges)


def _add_noise(
    clean: np.ndarray,
    rng: np.random.Generator,
    photons: float,
    background: float,
    read_noise: float,
    noise: bool,
    sigma: np.ndarray,
) -> np.ndarray:
    if np.any(sigma > 0):
        clean = ndi.gaussian_filter(clean, sigma=(0, *sigma), mode="nearest")
    expected = background + photons * clean.astype(np.float64)
    if noise:
        counts = rng.poisson(np.maximum(expected, 0)).astype(np.float64)
        if read_noise > 0:
            counts += rng.normal(0.0, read_noise, size=counts.shape)
    else:
        counts = expected
    return np.clip(np.rint(counts), 0, np.iinfo(np.uint16).max).astype(np.uint16)


class _Simulator:
    def __init__(self, *, rng, ndim, shape, step, extent, radius, speed, persistence,
                 drift, min_gap, boundary):  # fmt: skip
        self.rng = rng
        self.ndim = ndim
        self.shape = shape
        self.step = step
        self.extent = extent
        self.radius = radius
        self.speed = speed
        self.persistence = persistence
        self.drift = drift
        self.min_gap = min_gap
        self.boundary = boundary
        self.objects: list[_Obj] = []
        self.next_id = 1
        self.rows: dict[int, list[int]] = {}  # track id -> [label, begin, end, parent]
        self.merge_edges: list[tuple[int, int]] = []

    # -- construction -------------------------------------------------------------
    def _new(self, center, axes, t, parents=(), merged=False, rot=None, velocity=None):
        obj = _Obj(
            id=self.next_id,
            center=np.asarray(center, dtype=float),
            axes=np.asarray(axes, dtype=float),
            target=np.asarray(axes, dtype=float).copy(),
            rot=_random_rotation(self.rng, self.ndim) if rot is None else rot,
            velocity=(
                self.rng.normal(0, self.speed / np.sqrt(self.ndim), self.ndim)
                if velocity is None
                else velocity
            ),
            brightness=float(self.rng.uniform(0.6, 1.0)),
            born=t,
            parents=tuple(parents),
            merged=merged,
        )
        self.next_id += 1
        return obj

    def _fits(self, center, bound, others) -> bool:
        for o in others:
            if np.linalg.norm(o.center - center) < bound + o.bound + self.min_gap:
                return False
        return True

    def place_new(self, t: int, at_border: bool) -> bool:
        axes = self.rng.uniform(*self.radius, size=self.ndim)
        bound = float(axes.max())
        for _ in range(500):
            if at_border:
                # Y or X border (Z is thin in microscopy): centre just inside the edge.
                ax = int(self.rng.integers(self.ndim - 2, self.ndim))
                side = int(self.rng.integers(2))
                lo = np.minimum(bound, self.extent / 2)
                center = self.rng.uniform(lo, self.extent - lo)
                inset = bound if self.boundary == "reflect" else 0.3 * bound
                center[ax] = inset if side == 0 else self.extent[ax] - inset
                vel = self.rng.normal(0, self.speed / np.sqrt(self.ndim), self.ndim)
                vel[ax] = abs(vel[ax]) * (1 if side == 0 else -1)
            else:
                lo = np.minimum(bound, self.extent / 2)
                center = self.rng.uniform(lo, self.extent - lo)
                vel = None
            if self._fits(center, bound, self.objects):
                self.objects.append(self._new(center, axes, t, velocity=vel))
                return True
        return False

    # -- one frame of dynamics ----------------------------------------------------
    def advance(self, t, division_rate, merge_rate, merge_distance, appear_rate):
        rng = self.rng
        nxt: list[_Obj] = []
        # divisions (decided on frame t-1, daughters exist from t)
        for o in self.objects:
            if (
                division_rate > 0
                and t - 1 - o.born >= _MIN_CYCLE * (len(o.parents) > 0)
                and rng.random() < division_rate
            ):
                u = rng.normal(size=self.ndim)
                u /= np.linalg.norm(u)
                axes = o.axes * 0.5 ** (1.0 / self.ndim)
                off = axes.max() + self.min_gap / 2 + 0.5
                for sign in (1.0, -1.0):
                    d = self._new(o.center + sign * off * u, axes, t, parents=(o.id,))
                    d.target = o.target.copy()
                    d.brightness = o.brightness
                    d.velocity = o.velocity * 0.5 + sign * u * self.speed * 0.5
                    nxt.append(d)
            else:
                nxt.append(o)
        # merges between survivors that did not just divide
        if merge_rate > 0:
            taken: set[int] = set()
            merged: list[_Obj] = []
            pool = [o for o in nxt if o.born < t]
            for i, a in enumerate(pool):
                for b in pool[i + 1 :]:
                    if a.id in taken or b.id in taken:
                        continue
                    gap = np.linalg.norm(a.center - b.center) - a.bound - b.bound
                    if gap < merge_distance and rng.random() < merge_rate:
                        big = a if a.volume >= b.volume else b
                        vol = a.volume + b.volume
                        axes = big.axes * (vol / big.volume) ** (1.0 / self.ndim)
                        center = (a.center * a.volume + b.center * b.volume) / vol
                        m = self._new(center, axes, t, parents=(a.id, b.id), merged=True,
                                      rot=big.rot, velocity=(a.velocity + b.velocity) / 2)  # fmt: skip
                        m.brightness = (a.brightness + b.brightness) / 2
                        taken.update((a.id, b.id))
                        merged.append(m)
            nxt = [o for o in nxt if o.id not in taken] + merged
        # motion and growth of the objects that already existed
        for o in nxt:
            if o.born < t:
                noise = rng.normal(0, self.speed / np.sqrt(self.ndim), self.ndim)
                p = self.persistence
                o.velocity = p * o.velocity + np.sqrt(1 - p * p) * noise
                o.center = o.center + o.velocity + self.drift
                o.axes = o.axes + _GROWTH * (o.target - o.axes)
        self.objects = nxt
        for _ in range(int(rng.poisson(appear_rate)) if appear_rate > 0 else 0):
            self.place_new(t, at_border=True)
        self._separate()

    def _separate(self, n_iter: int = 20) -> None:
        objs = self.objects
        if self.boundary == "reflect":
            self._reflect()
        if len(objs) < 2:
            return
        bounds = np.array([o.bound for o in objs])
        need = bounds[:, None] + bounds[None, :] + self.min_gap
        np.fill_diagonal(need, 0)
        for _ in range(n_iter):
            c = np.array([o.center for o in objs])
            diff = c[:, None, :] - c[None, :, :]
            dist = np.linalg.norm(diff, axis=-1)
            np.fill_diagonal(dist, np.inf)
            deficit = need - dist
            deficit[~np.isfinite(deficit)] = 0
            if (deficit <= 1e-9).all():
                break
            with np.errstate(invalid="ignore", divide="ignore"):
                unit = diff / dist[..., None]
            unit = np.nan_to_num(unit)
            push = 0.5 * np.clip(deficit, 0, None)[..., None] * unit
            moves = push.sum(axis=1) * 1.01
            for o, m in zip(objs, moves):
                o.center = o.center + m
            if self.boundary == "reflect":
                self._reflect()

    def _reflect(self) -> None:
        for o in self.objects:
            lo = np.minimum(o.axes.max(), self.extent / 2)
            hi = self.extent - lo
            below, above = o.center < lo, o.center > hi
            o.center = np.where(below, 2 * lo - o.center, o.center)
            o.center = np.where(above, 2 * hi - o.center, o.center)
            o.center = np.clip(o.center, lo, hi)
            o.velocity = np.where(below | above, -o.velocity, o.velocity)

    # -- rendering ----------------------------------------------------------------
    def render(self, t: int, labels: np.ndarray, clean: np.ndarray) -> None:
        alive: list[_Obj] = []
        for o in sorted(self.objects, key=lambda o: o.id):
            # per world axis half-extent of the ellipsoid, then the pixel box
            half = np.sqrt(((o.rot * o.axes[None, :]) ** 2).sum(axis=1))
            cpix = o.center / self.step - 0.5
            lo = np.floor(cpix - half / self.step).astype(int)
            hi = np.ceil(cpix + half / self.step).astype(int) + 1
            full_lo, full_hi = lo, hi
            lo = np.maximum(lo, 0)
            hi = np.minimum(hi, self.shape)
            full = self._mask_size(o, full_lo, full_hi)
            if np.any(hi <= lo) or full == 0:
                continue
            rho2 = self._rho2(o, lo, hi)
            box = tuple(slice(a, b) for a, b in zip(lo, hi))
            inside = (rho2 <= 1.0) & (labels[box] == 0)
            if inside.sum() < _MIN_VISIBLE * full:
                continue  # it vanishes; its track ended at its last visible frame
            labels[box][inside] = o.id
            clean[box][inside] = o.brightness * (1.0 - 0.35 * rho2[inside])
            alive.append(o)
            if o.id not in self.rows:
                parent = o.parents[0] if (o.parents and not o.merged) else 0
                self.rows[o.id] = [o.id, t, t, parent]
                if o.merged:
                    self.merge_edges.extend((o.id, p) for p in o.parents)
            self.rows[o.id][2] = t
        self.objects = alive
        # A division whose other daughter is not visible at birth (it left the frame)
        # is no division: the survivor continues its parent's track.
        born: dict[int, list[_Obj]] = {}
        for o in alive:
            if o.born == t and o.parents and not o.merged:
                born.setdefault(o.parents[0], []).append(o)
        for parent, kids in born.items():
            if len(kids) == 1:
                kid = kids[0]
                labels[labels == kid.id] = parent
                del self.rows[kid.id]
                self.rows[parent][2] = t
                kid.id, kid.parents = parent, ()

    def _rho2(self, o: _Obj, lo, hi) -> np.ndarray:
        grids = np.meshgrid(
            *[(np.arange(a, b) + 0.5) * s for a, b, s in zip(lo, hi, self.step)],
            indexing="ij",
        )
        rel = np.stack([g - c for g, c in zip(grids, o.center)], axis=-1)
        q = rel @ o.rot  # coordinates along the principal axes
        return ((q / o.axes) ** 2).sum(axis=-1)

    def _mask_size(self, o: _Obj, lo, hi) -> int:
        return int((self._rho2(o, lo, hi) <= 1.0).sum())


def simulate_colony(
    *,
    n_frames: int = 30,
    shape: Sequence[int] = (256, 256),
    n_cells: int = 2,
    width: float = 8.0,
    birth_length: float = 20.0,
    doubling: float = 6.0,
    length_noise: float = 0.1,
    substeps: int = 4,
    photons: float = 200.0,
    background: float = 100.0,
    read_noise: float = 2.0,
    noise: bool = True,
    rng: int | np.random.Generator | None = None,
) -> SimulatedMovie:
    """Simulate a growing colony of rod-shaped bacteria (2D) with its ground truth.

    Cells are capsules (a spine and round caps, `width` wide) that grow exponentially
    (their length doubles every `doubling` frames), divide in the middle when they
    reach about twice their `birth_length` (the threshold of each cell varies by
    `length_noise`), and push each other apart: after every growth step, overlaps
    between the discs that make up the cells are relaxed by moving and turning the
    cells, so the colony spreads outwards as it grows, as an *E. coli* micro-colony
    does. A cell that leaves the frame ends its track.

    Parameters
    ----------
    n_frames : int
        Number of frames T.
    shape : (int, int)
        Frame shape (Y, X); the colony starts at its centre.
    n_cells : int
        Cells at frame 0.
    width, birth_length : float
        Cell width and length at birth (including the caps), pixels.
    doubling : float
        Frames per doubling of a cell's length (>= 2); at the default 6 the
        colony doubles every 6 frames, and a movie sampled every 4th frame holds
        cells that divided between two kept frames.
    length_noise : float
        Relative spread of the length at which each cell divides.
    substeps : int
        Growth and relaxation steps per frame.
    photons, background, read_noise, noise : see :func:`simulate_movie`
    rng : int or Generator, optional

    Returns
    -------
    SimulatedMovie
        Labels (id = track id), CTC table with parents, tracks graph; the movie shows
        the cells bright on a dark background.
    """
    shape = tuple(int(s) for s in shape)
    _check("shape", len(shape) == 2 and min(shape) >= 16, "two sizes >= 16", shape)
    _check("n_frames", int(n_frames) >= 1, "an integer >= 1", n_frames)
    _check("n_cells", int(n_cells) >= 1, "an integer >= 1", n_cells)
    _check("doubling", doubling >= 2, "a number >= 2 (frames)", doubling)
    _check("substeps", int(substeps) >= 1, "an integer >= 1", substeps)
    _check("length_noise", length_noise >= 0, "a number >= 0", length_noise)
    _check("width", width > 0 and birth_length > width, "0 < width < birth_length",
           (width, birth_length))
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    r = width / 2
    centre = np.asarray(shape, float) / 2
    # state per cell: id, centre (y, x), angle, length, division length, parent
    cells: list[dict[str, Any]] = []
    next_id = 1

    def division_length() -> float:
        return 2 * birth_length * max(0.5, 1 + length_noise * gen.normal())

    for _ in range(int(n_cells)):
        cells.append({"id": next_id, "c": centre + gen.normal(0, birth_length / 2, 2),
                      "a": gen.uniform(0, np.pi), "len": birth_length * gen.uniform(1, 1.6),
                      "div": division_length(), "parent": 0})
        next_id += 1
    growth = 2.0 ** (1.0 / (doubling * int(substeps)))
    labels = np.zeros((int(n_frames), *shape), dtype=np.int32)
    parent_of: dict[int, int] = {}
    seen: dict[int, list[int]] = {}
    for t in range(int(n_frames)):
        if t > 0:
            for _ in range(int(substeps)):
                born = []
                for cell in cells:
                    cell["len"] *= growth
                    if cell["len"] >= cell["div"]:
                        u = _axis(cell["a"])
                        for sign in (-1.0, 1.0):
                            born.append({"id": next_id, "c": cell["c"] + sign * cell["len"] / 4 * u,
                                         "a": cell["a"] + gen.normal(0, 0.05),
                                         "len": cell["len"] / 2, "div": division_length(),
                                         "parent": cell["id"]})
                            next_id += 1
                        cell["dead"] = True
                cells = [c for c in cells if not c.get("dead")] + born
                _relax_rods(cells, r, gen)
        for cell in cells:
            u = _axis(cell["a"])
            half = max(cell["len"] / 2 - r, 0.0)
            p, q = cell["c"] - half * u, cell["c"] + half * u
            lo = np.floor(np.minimum(p, q) - r - 1).astype(int).clip(0, None)
            hi = np.ceil(np.maximum(p, q) + r + 2).astype(int)
            hi = np.minimum(hi, shape)
            if (hi <= lo).any():
                continue
            py, px = np.mgrid[lo[0]:hi[0], lo[1]:hi[1]]
            d = np.stack([py - p[0], px - p[1]], -1).astype(float)
            s = np.clip((d @ (q - p)) / max(float((q - p) @ (q - p)), 1e-9), 0, 1)
            dist = np.linalg.norm(d - s[..., None] * (q - p), axis=-1)
            view = labels[t, lo[0]:hi[0], lo[1]:hi[1]]
            inside = (dist <= r) & (view == 0)
            if inside.sum() >= 0.2 * np.pi * r * r:
                view[inside] = cell["id"]
        for cell in cells:
            parent_of.setdefault(cell["id"], cell["parent"])
        present = np.unique(labels[t])
        for lab in present[present > 0].tolist():
            seen.setdefault(lab, []).append(t)
        # a cell that left the frame is gone for good
        gone = {c["id"] for c in cells
                if (c["c"] < -birth_length).any() or (c["c"] > np.asarray(shape) + birth_length).any()}
        cells = [c for c in cells if c["id"] not in gone]
    rows = []
    for lab, frames in sorted(seen.items()):
        p = parent_of.get(lab, 0)
        while p and p not in seen:  # an ancestor that was never in a frame
            p = parent_of.get(p, 0)
        # a track must be contiguous: keep its first run of frames
        run = [frames[0]]
        for f in frames[1:]:
            if f != run[-1] + 1:
                break
            run.append(f)
        for f in frames[len(run):]:
            labels[f][labels[f] == lab] = 0
        rows.append((lab, run[0], run[-1], p))
    table = pd.DataFrame(rows, columns=CTC_COLUMNS, dtype=np.int64)
    clean = (labels > 0).astype(np.float32)
    data = _add_noise(clean, gen, photons, background, read_noise, noise, np.array([1.0, 1.0]))
    movie = Movie(data=data, axes="TYX", spacing=None, frame_interval=1.0,
                  name="simulated colony", metadata={"simulated": True})
    return SimulatedMovie(movie=movie, labels=labels, table=table,
                          graph=graph_from_ctc(labels, table))


def _axis(angle) -> np.ndarray:
    """Unit vector(s) (y, x) along rods at `angle` (radians)."""
    angle = np.asarray(angle, float)
    return np.stack([np.sin(angle), np.cos(angle)], axis=-1)


def _relax_rods(cells: list[dict[str, Any]], r: float, gen: np.random.Generator,
                iterations: int = 12) -> None:
    """Push overlapping rods apart: each rod is a chain of discs of radius `r`; every
    overlapping pair of discs of two rods moves and turns both rods by half the overlap."""
    from scipy.spatial import cKDTree

    if len(cells) < 2:
        return
    for _ in range(iterations):
        units = _axis([cell["a"] for cell in cells])
        pts, owner, offset = [], [], []
        for i, (cell, u) in enumerate(zip(cells, units)):
            half = max(cell["len"] / 2 - r, 0.0)
            k = max(2, int(np.ceil(2 * half / r)) + 1)
            s = np.linspace(-half, half, k)
            pts.append(cell["c"] + s[:, None] * u)
            owner.append(np.full(k, i))
            offset.append(s)
        p = np.concatenate(pts)
        o = np.concatenate(owner)
        s = np.concatenate(offset)
        pairs = cKDTree(p).query_pairs(2 * r, output_type="ndarray")
        pairs = pairs[o[pairs[:, 0]] != o[pairs[:, 1]]]
        if len(pairs) == 0:
            return
        a, b = pairs[:, 0], pairs[:, 1]
        d = p[a] - p[b]
        dist = np.maximum(np.linalg.norm(d, axis=1), 1e-6)
        push = ((2 * r - dist) / 2 / dist)[:, None] * d
        move = np.zeros((len(cells), 2))
        turn = np.zeros(len(cells))
        count = np.bincount(o, minlength=len(cells)).astype(float)
        for idx, sign in ((a, 1.0), (b, -1.0)):
            np.add.at(move, o[idx], sign * push)
            # torque about the rod's centre: offset along the rod x push
            lever = s[idx][:, None] * units[o[idx]]
            torque = lever[:, 0] * (sign * push[:, 1]) - lever[:, 1] * (sign * push[:, 0])
            np.add.at(turn, o[idx], torque)
        for i, cell in enumerate(cells):
            cell["c"] = cell["c"] + move[i] / np.sqrt(count[i]) + gen.normal(0, 0.02, 2)
            inertia = max(cell["len"], 1.0) ** 2 / 12 * count[i] / 2
            cell["a"] = cell["a"] - turn[i] / inertia

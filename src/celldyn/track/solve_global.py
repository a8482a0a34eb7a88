"""Global tracking: an integer program over time windows, exact on each window.

Over the candidate links of :func:`~celldyn.track.candidates.candidate_links` with the
costs of :mod:`celldyn.track.costs`, each window of frames is one integer linear
program, solved by HiGHS through :func:`scipy.optimize.milp`:

variables (all binary)
    ``x_e`` per candidate link, and per node ``a_i`` (appears), ``d_i`` (disappears),
    ``s_i`` (divides; only with ``divisions``) and ``m_i`` (merge child; only with
    ``merges``).
constraints (flow conservation)
    in-flow: ``sum(x_e into i) + a_i - m_i = 1`` (one predecessor, or none and it
    appears, or two when it is a merge), out-flow: ``sum(x_e out of i) + d_i - s_i =
    1`` (one successor, none and it disappears, or two when it divides), and
    ``a_i + m_i <= 1``, ``d_i + s_i <= 1``.
objective
    ``sum(cost_e x_e) + appear sum(a) + disappear sum(d) + division sum(s) + merge
    sum(m)``: the objective :func:`~celldyn.track.lap.track_lap` also minimises, so
    :func:`total_cost` compares the two, and with one window covering the movie the
    global solution is never worse.

Windows of ``window`` frames overlap by ``overlap`` frames (at least ``max_gap + 1``,
the longest link). The links a window decides out of its first ``window - overlap``
frames are fixed; the next window starts where those end and treats the fixed links
into it as given in-flow. With a motion model the program is solved twice: once with
plain distances, then with velocities estimated from that solution
(:func:`~celldyn.track.motion.track_velocities`).

Ours: the formulation and the windowing; HiGHS solves each program exactly
(``mip_rel_gap = 0``).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_matrix

from ..errors import InputError
from ._problem import Problem, prepare
from .candidates import graph_from_links
from .costs import LinkCosts, position_costs
from .motion import track_velocities

__all__ = ["track_global", "total_cost"]


def _solve_window(
    prob: Problem,
    cost: NDArray[np.float64],
    nodes: NDArray[np.int64],
    rows: NDArray[np.int64],
    fixed_in: NDArray[np.int64],
    time_limit: float | None,
) -> NDArray[np.int64]:
    """Exact solution of one window; returns the chosen candidate rows."""
    cfg = prob.config
    n, e = len(nodes), len(rows)
    if e == 0:
        return np.zeros(0, np.int64)
    loc = np.full(prob.n, -1, np.int64)
    loc[nodes] = np.arange(n)
    ei, ej = loc[prob.src[rows]], loc[prob.tgt[rows]]
    blocks = ["a", "d"] + (["s"] if prob.divisions else []) + (["m"] if prob.merges else [])
    off = {b: e + k * n for k, b in enumerate(blocks)}
    nvar = e + len(blocks) * n
    ar = np.arange(n)
    # equality rows: in-flow (0..n-1), out-flow (n..2n-1)
    r = [ej, n + ei, ar, n + ar]
    c = [np.arange(e), np.arange(e), off["a"] + ar, off["d"] + ar]
    v = [np.ones(e), np.ones(e), np.ones(n), np.ones(n)]
    if prob.divisions:
        r.append(n + ar), c.append(off["s"] + ar), v.append(-np.ones(n))
    if prob.merges:
        r.append(ar), c.append(off["m"] + ar), v.append(-np.ones(n))
    a_eq = coo_matrix(
        (np.concatenate(v), (np.concatenate(r), np.concatenate(c))), shape=(2 * n, nvar)
    ).tocsr()
    b_eq = np.concatenate([1.0 - fixed_in[nodes], np.ones(n)])
    constraints = [LinearConstraint(a_eq, b_eq, b_eq)]
    # a_i + m_i <= 1 and d_i + s_i <= 1 (a node cannot both appear and be merged into)
    pairs = ([("a", "m")] if prob.merges else []) + ([("d", "s")] if prob.divisions else [])
    if pairs:
        ub_r = np.concatenate([k * n + ar for k in range(len(pairs)) for _ in (0, 1)])
        ub_c = np.concatenate([off[b] + ar for pair in pairs for b in pair])
        a_ub = coo_matrix(
            (np.ones(len(ub_r)), (ub_r, ub_c)), shape=(len(pairs) * n, nvar)
        ).tocsr()
        constraints.append(LinearConstraint(a_ub, -np.inf, 1.0))
    event = {"a": cfg.appear, "d": cfg.disappear, "s": cfg.division, "m": cfg.merge}
    obj = np.concatenate([cost[rows]] + [np.full(n, event[b]) for b in blocks])
    options: dict[str, Any] = {"disp": False, "mip_rel_gap": 0.0}
    if time_limit is not None:
        options["time_limit"] = float(time_limit)
    res = milp(
        obj, integrality=np.ones(nvar), bounds=Bounds(0, 1), constraints=constraints,
        options=options,
    )
    if res.x is None:
        raise InputError(f"the tracking program has no solution ({res.message})")
    if res.status != 0:
        warnings.warn(
            f"global tracking stopped before proving optimality: {res.message}",
            stacklevel=3,
        )
    return rows[res.x[:e] > 0.5]


def _solve(
    prob: Problem,
    cost: NDArray[np.float64],
    window: int,
    overlap: int,
    time_limit: float | None,
    progress: bool,
) -> NDArray[np.int64]:
    finite = np.isfinite(cost)
    t = prob.t
    if prob.n == 0:
        return np.zeros(0, np.int64)
    f0, f1 = int(t.min()), int(t.max())
    fixed_in = np.zeros(prob.n, np.int64)
    chosen_all: list[NDArray[np.int64]] = []
    starts = []
    s = f0
    while True:
        starts.append(s)
        if s + window - 1 >= f1:
            break
        s += window - overlap
    it: Any = starts
    if progress:
        from tqdm.auto import tqdm

        it = tqdm(starts, desc="track (global)", unit="window")
    ts, tt = t[prob.src], t[prob.tgt]
    for k, s in enumerate(it):
        e = s + window - 1
        last = k == len(starts) - 1
        commit_before = np.inf if last else s + window - overlap
        nodes = np.flatnonzero((t >= s) & (t <= e))
        rows = np.flatnonzero(finite & (ts >= s) & (tt <= e))
        chosen = _solve_window(prob, cost, nodes, rows, fixed_in, time_limit)
        keep = chosen[ts[chosen] < commit_before]
        np.add.at(fixed_in, prob.tgt[keep], 1)
        chosen_all.append(keep)
    return np.sort(np.concatenate(chosen_all)) if chosen_all else np.zeros(0, np.int64)


def track_global(
    objects: pd.DataFrame,
    *,
    labels: Any = None,
    max_distance: float,
    max_gap: int = 2,
    divisions: bool = True,
    merges: bool = False,
    costs: LinkCosts | None = None,
    spacing: Sequence[float] | None = None,
    edge_costs: NDArray[np.float64] | None = None,
    candidates: pd.DataFrame | None = None,
    window: int = 50,
    overlap: int | None = None,
    time_limit: float | None = None,
    progress: bool = False,
) -> nx.DiGraph:
    """Track detections by integer programming over overlapping time windows.

    Parameters are those of :func:`~celldyn.track.lap.track_lap`, plus:

    window : int
        Frames per program; a window covering the movie gives the exact optimum.
    overlap : int, optional
        Frames shared by consecutive windows; default ``max(max_gap + 1, window //
        5)``, at least ``max_gap + 1`` and less than `window`.
    time_limit : float, optional
        Seconds HiGHS may spend per window (then the best solution found is used,
        with a warning).

    Returns
    -------
    graph : networkx.DiGraph
        As :func:`~celldyn.track.lap.track_lap`.

    Raises
    ------
    InputError
        As :func:`~celldyn.track.lap.track_lap`, or on a bad `window`/`overlap`.

    Examples
    --------
    >>> objects = pd.DataFrame({"t": [0, 1, 1, 3], "label": [1, 1, 2, 1],
    ...                         "y": [0.0, -2.0, 2.0, 2.5], "x": [0.0, 0.0, 0.0, 0.0]})
    >>> sorted(track_global(objects, max_distance=4, max_gap=1).edges)
    [(0, 1), (0, 2), (2, 3)]
    """
    prob = prepare(
        objects, labels=labels, max_distance=max_distance, max_gap=max_gap, costs=costs,
        spacing=spacing, edge_costs=edge_costs, candidates=candidates,
        divisions=divisions, merges=merges,
    )
    longest = int(prob.dt.max()) if len(prob.dt) else 1
    window = int(window)
    if overlap is None:
        overlap = max(longest, window // 5)
    overlap = int(overlap)
    if window < 2 or not longest <= overlap < window:
        raise InputError(
            f"need window > overlap >= longest link ({longest} frames); got window="
            f"{window}, overlap={overlap}"
        )
    if prob.cost is not None:
        cost = prob.cost
    else:
        # motion: first plain distances, then velocities from that solution
        cfg = prob.config
        plain = prob.static + position_costs(
            prob.objects, prob.candidates, config=cfg, max_distance=prob.max_distance
        )
        first = _solve(prob, plain, window, overlap, time_limit, progress)
        indeg = np.bincount(prob.tgt[first], minlength=prob.n)
        parent = np.full(prob.n, -1, np.int64)
        single = first[indeg[prob.tgt[first]] == 1]
        parent[prob.tgt[single]] = prob.src[single]
        state = prob.motion_state()
        vel = track_velocities(
            prob.pos, prob.t, parent, cfg.motion, process_noise=state.q,
            measurement_noise=state.r, initial_velocity_var=state.v0,
        )
        predicted = prob.pos[prob.src] + prob.dt[:, None] * vel[prob.src]
        cost = prob.static + position_costs(
            prob.objects, prob.candidates, config=cfg, max_distance=prob.max_distance,
            predicted=predicted,
        )
    chosen = _solve(prob, cost, window, overlap, time_limit, progress)
    edges = np.stack([prob.src[chosen], prob.tgt[chosen]], axis=1)
    graph = graph_from_links(prob.objects, edges)
    graph.graph["tracker"] = "global"
    return graph


def total_cost(
    graph: nx.DiGraph,
    objects: pd.DataFrame,
    candidates: pd.DataFrame,
    costs: NDArray[np.float64],
    config: LinkCosts | None = None,
) -> float:
    """The objective both solvers minimise, evaluated on a graph.

    Parameters
    ----------
    graph : networkx.DiGraph
        Tracks graph whose nodes are the rows of `objects`.
    objects : DataFrame
        The detections (one node per row).
    candidates : DataFrame
        Candidate table; every edge of `graph` must be one of its rows.
    costs : (len(candidates),) float array
        Link cost per candidate row (e.g. :func:`~celldyn.track.costs.link_costs`).
    config : LinkCosts, optional
        Event costs (appear, disappear, division, merge).

    Returns
    -------
    float
        ``sum(link costs) + appear * #(in-degree 0) + disappear * #(out-degree 0) +
        division * #(out-degree 2) + merge * #(in-degree 2)``.

    Raises
    ------
    InputError
        If an edge is not a candidate or the graph's nodes are not the rows.
    """
    cfg = config or LinkCosts()
    if set(graph.nodes) != set(range(len(objects))):
        raise InputError("graph nodes must be the row positions of objects")
    costs = np.asarray(costs, float)
    src = candidates["source"].to_numpy(np.int64)
    tgt = candidates["target"].to_numpy(np.int64)
    row_of = {(int(a), int(b)): k for k, (a, b) in enumerate(zip(src, tgt))}
    total = 0.0
    for u, v in graph.edges:
        k = row_of.get((int(u), int(v)))
        if k is None:
            raise InputError(f"edge {(u, v)} is not a candidate link")
        total += float(costs[k])
    indeg = np.array([graph.in_degree(i) for i in range(len(objects))])
    outdeg = np.array([graph.out_degree(i) for i in range(len(objects))])
    total += cfg.appear * int((indeg == 0).sum()) + cfg.disappear * int((outdeg == 0).sum())
    total += cfg.division * int((outdeg == 2).sum()) + cfg.merge * int((indeg == 2).sum())
    return float(total)

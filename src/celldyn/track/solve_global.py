"""Global tracking: an integer program over time windows, exact on each window.

Over the candidate links of :func:`~celldyn.track.candidates.candidate_links` with the
costs of :mod:`celldyn.track.costs`, each window of frames is one integer linear
program, solved by HiGHS through :func:`scipy.optimize.milp`:

variables (all binary)
    ``x_e`` per candidate link; ``z_k`` per candidate division (with ``divisions``: a
    pair of one-frame links out of one mother, :meth:`Problem.division_pairs`); per
    node ``a_i`` (appears), ``d_i`` (disappears) and ``m_i`` (merge child; only with
    ``merges``).
constraints (flow conservation)
    in-flow: ``sum(x_e into i) + sum(z_k with daughter i) + a_i - m_i = 1`` (one
    predecessor, or none and it appears, or two when it is a merge), out-flow:
    ``sum(x_e out of i) + sum(z_k with mother i) + d_i = 1`` (one successor, or one
    division, or none and it disappears), and ``a_i + m_i <= 1``.
objective
    ``sum(cost_e x_e) + sum(cost_k z_k) + appear sum(a) + disappear sum(d) + merge
    sum(m)``, a division costing both its links, ``division`` and the daughters'
    evidence (:func:`~celldyn.track.costs.division_evidence`): the objective
    :func:`~celldyn.track.lap.track_lap` also minimises, so :func:`total_cost`
    compares the two, and with one window covering the movie the global solution is
    never worse.

Each window separates over the connected components of its candidate graph. The
components without a candidate division (and all of them without merges) are pure
assignment problems, solved together as one sparse augmented LAP (exact); each other
component is an integer program of its own.

Windows of ``window`` frames overlap by ``overlap`` frames (at least ``max_gap + 1``,
the longest link). The links a window decides out of its first ``window - overlap``
frames are fixed; the next window starts where those end and treats the fixed links
into it as given in-flow. With a motion model the program is solved twice: once with
plain distances, then with velocities estimated from that solution
(:func:`~celldyn.track.motion.track_velocities`).

Merges (``m_i``) cost ``merge`` here, without the union IoU term the LAP solver adds to
a merge (:func:`~celldyn.track.costs.union_iou_term`): with merges and the IoU term the
two solvers' objectives differ in that term, and :func:`total_cost` is LAP's.

Ours: the formulation, the windowing and the split into components; HiGHS solves each
program exactly (``mip_rel_gap = 0``).
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
from scipy.sparse.csgraph import connected_components

from ..errors import InputError
from ._problem import Problem, prepare
from .candidates import graph_from_links
from .costs import (LinkCosts, _renamed, conservation_reference, division_evidence,
                    iou_of_candidates, position_costs, union_iou_term)
from .lap import solve_augmented_lap
from .motion import track_velocities

__all__ = ["global_links", "total_cost", "track_global"]


def _solve_window(
    prob: Problem,
    cost: NDArray[np.float64],
    nodes: NDArray[np.int64],
    rows: NDArray[np.int64],
    pairs: tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]],
    fixed_in: NDArray[np.int64],
    time_limit: float | None,
) -> NDArray[np.int64]:
    """Exact solution of one window; returns the chosen candidate rows.

    The program separates over the connected components of the candidate graph (every
    constraint is one node's, every variable touches one component). Components
    without a candidate division (and without merges) are assignment problems: all of
    them together are one sparse augmented LAP, solved exactly. The others are integer
    programs of their own.
    """
    if len(rows) == 0:
        return np.zeros(0, np.int64)
    r1, r2, zc = pairs
    loc = np.full(prob.n, -1, np.int64)
    loc[nodes] = np.arange(len(nodes))
    ei, ej = loc[prob.src[rows]], loc[prob.tgt[rows]]
    graph = coo_matrix((np.ones(len(rows)), (ei, ej)), shape=(len(nodes),) * 2)
    n_comp, comp = connected_components(graph, directed=False)
    needs_ip = np.zeros(n_comp, bool)
    if prob.merges:
        needs_ip[:] = True
    else:
        needs_ip[comp[loc[prob.src[r1]]]] = True
    chosen = []
    flat = ~needs_ip[comp[ei]]
    if flat.any():
        # one-to-one links only: an augmented assignment; a node whose in-flow is fixed
        # by the previous window takes no link in
        lr = rows[flat]
        lr = lr[fixed_in[prob.tgt[lr]] == 0]
        a_nodes, a_loc = np.unique(prob.src[lr], return_inverse=True)
        b_nodes, b_loc = np.unique(prob.tgt[lr], return_inverse=True)
        costs = prob.costs
        pick = solve_augmented_lap(
            len(a_nodes), len(b_nodes), a_loc, b_loc, cost[lr], costs.disappear, costs.appear
        )
        chosen.append(lr[pick])
    ip = np.flatnonzero(needs_ip)
    if ip.size:
        node_comp = comp
        e_comp = comp[ei]
        p_comp = comp[loc[prob.src[r1]]]
        by_node = _group(node_comp, ip)
        by_edge = _group(e_comp, ip)
        by_pair = _group(p_comp, ip)
        empty = np.zeros(0, np.int64)
        for k in ip.tolist():
            er = by_edge.get(k)
            if er is None:
                continue
            pr = by_pair.get(k, empty)
            chosen.append(_solve_program(
                prob, cost, nodes[by_node[k]], rows[er], (r1[pr], r2[pr], zc[pr]),
                fixed_in, time_limit,
            ))
    return np.concatenate(chosen) if chosen else np.zeros(0, np.int64)


def _group(labels: NDArray[np.int64], wanted: NDArray[np.int64]) -> dict[int, NDArray]:
    """Label -> positions with that label, for the labels in `wanted`."""
    keep = np.flatnonzero(np.isin(labels, wanted))
    keep = keep[np.argsort(labels[keep], kind="stable")]
    if keep.size == 0:
        return {}
    uniq, starts = np.unique(labels[keep], return_index=True)
    return dict(zip(uniq.tolist(), np.split(keep, starts[1:])))


def _solve_program(
    prob: Problem,
    cost: NDArray[np.float64],
    nodes: NDArray[np.int64],
    rows: NDArray[np.int64],
    pairs: tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]],
    fixed_in: NDArray[np.int64],
    time_limit: float | None,
) -> NDArray[np.int64]:
    """The integer program of one component (or window)."""
    costs = prob.costs
    r1, r2, zc = pairs
    n, e, p = len(nodes), len(rows), len(r1)
    if e == 0:
        return np.zeros(0, np.int64)
    loc = np.full(prob.n, -1, np.int64)
    loc[nodes] = np.arange(n)
    ei, ej = loc[prob.src[rows]], loc[prob.tgt[rows]]
    blocks = ["a", "d"] + (["m"] if prob.merges else [])
    # variables: links (e), divisions (p: one per pair of daughter links), node blocks
    off = {b: e + p + k * n for k, b in enumerate(blocks)}
    nvar = e + p + len(blocks) * n
    ar, ap = np.arange(n), e + np.arange(p)
    zm, z1, z2 = loc[prob.src[r1]], loc[prob.tgt[r1]], loc[prob.tgt[r2]]
    # equality rows: in-flow (0..n-1), out-flow (n..2n-1); a division is one unit of
    # its mother's out-flow and of each daughter's in-flow
    r = [ej, n + ei, ar, n + ar, z1, z2, n + zm]
    c = [np.arange(e), np.arange(e), off["a"] + ar, off["d"] + ar, ap, ap, ap]
    v = [np.ones(e), np.ones(e), np.ones(n), np.ones(n), np.ones(p), np.ones(p), np.ones(p)]
    if prob.merges:
        r.append(ar), c.append(off["m"] + ar), v.append(-np.ones(n))
    a_eq = coo_matrix(
        (np.concatenate(v), (np.concatenate(r), np.concatenate(c))), shape=(2 * n, nvar)
    ).tocsr()
    b_eq = np.concatenate([1.0 - fixed_in[nodes], np.ones(n)])
    constraints = [LinearConstraint(a_eq, b_eq, b_eq)]
    if prob.merges:  # a_i + m_i <= 1 (a node cannot both appear and be merged into)
        a_ub = coo_matrix(
            (np.ones(2 * n), (np.concatenate([ar, ar]),
                              np.concatenate([off["a"] + ar, off["m"] + ar]))),
            shape=(n, nvar),
        ).tocsr()
        constraints.append(LinearConstraint(a_ub, -np.inf, 1.0))
    event = {"a": costs.appear, "d": costs.disappear, "m": costs.merge}
    obj = np.concatenate([cost[rows], zc] + [np.full(n, event[b]) for b in blocks])
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
    div = res.x[e : e + p] > 0.5
    return np.concatenate([rows[res.x[:e] > 0.5], r1[div], r2[div]])


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
    if prob.divisions:
        r1_all, r2_all, zc_all = prob.division_pairs(cost)
    else:
        r1_all = r2_all = np.zeros(0, np.int64)
        zc_all = np.zeros(0)
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
        inside = (ts[r1_all] >= s) & (tt[r1_all] <= e) & (tt[r2_all] <= e)
        pairs = (r1_all[inside], r2_all[inside], zc_all[inside])
        chosen = _solve_window(prob, cost, nodes, rows, pairs, fixed_in, time_limit)
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
    division_reach: float | None = None,
) -> nx.DiGraph:
    """Track detections by integer programming over overlapping time windows.

    Parameters are those of :func:`~celldyn.track.lap.track_lap`, plus:

    window : int
        Frames per program; a window covering the movie gives the exact optimum.
    overlap : int, optional
        Frames shared by consecutive windows; default ``max(max_gap + 1, window //
        5)``, at least ``max_gap + 1`` and less than `window`.
    time_limit : float, optional
        Seconds HiGHS may spend per integer program (one per component of a window
        that has a candidate division; then the best solution found is used, with a
        warning).

    Returns
    -------
    graph : networkx.DiGraph
        As :func:`~celldyn.track.lap.track_lap` (the links alone: :func:`global_links`).

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
    edges = global_links(
        objects, labels=labels, max_distance=max_distance, max_gap=max_gap,
        divisions=divisions, merges=merges, costs=costs, spacing=spacing,
        edge_costs=edge_costs, candidates=candidates, window=window, overlap=overlap,
        time_limit=time_limit, progress=progress, division_reach=division_reach,
    )
    graph = graph_from_links(objects.reset_index(drop=True), edges)
    graph.graph["tracker"] = "global"
    return graph


def global_links(
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
    conservation: tuple[float, float] | None | str = "movie",
    division_reach: float | None = None,
) -> NDArray[np.int64]:
    """The links of :func:`track_global` as an ``(E, 2)`` array of row positions of
    `objects` (as :func:`~celldyn.track.lap.lap_links`, `conservation` and
    `division_reach` too: with a reach beyond `max_distance`, astride divisions are
    priced in its units in the program, and LAP's wide-division passes run on the
    solution).

    Examples
    --------
    >>> objects = pd.DataFrame({"t": [0, 1, 1, 3], "label": [1, 1, 2, 1],
    ...                         "y": [0.0, -2.0, 2.0, 2.5], "x": [0.0, 0.0, 0.0, 0.0]})
    >>> global_links(objects, max_distance=4, max_gap=1).tolist()
    [[0, 1], [0, 2], [2, 3]]
    """
    prob = prepare(
        objects, labels=labels, max_distance=max_distance, max_gap=max_gap, costs=costs,
        spacing=spacing, edge_costs=edge_costs, candidates=candidates,
        divisions=divisions, merges=merges, conservation=conservation,
        division_reach=division_reach,
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
        costs = prob.costs
        plain = prob.static + position_costs(
            prob.objects, prob.candidates, costs=costs, max_distance=prob.max_distance
        )
        first = _solve(prob, plain, window, overlap, time_limit, progress)
        indeg = np.bincount(prob.tgt[first], minlength=prob.n)
        parent = np.full(prob.n, -1, np.int64)
        single = first[indeg[prob.tgt[first]] == 1]
        parent[prob.tgt[single]] = prob.src[single]
        state = prob.motion_state()
        vel = track_velocities(
            prob.pos, prob.t, parent, costs.motion, process_noise=state.q,
            measurement_noise=state.r, initial_velocity_var=state.v0,
        )
        predicted = prob.pos[prob.src] + prob.dt[:, None] * vel[prob.src]
        cost = prob.static + position_costs(
            prob.objects, prob.candidates, costs=costs, max_distance=prob.max_distance,
            predicted=predicted,
        )
    chosen = _solve(prob, cost, window, overlap, time_limit, progress)
    edges = np.stack([prob.src[chosen], prob.tgt[chosen]], axis=1).astype(np.int64)
    from . import lap

    if prob.wide_divisions:
        edges = lap.wide_division_passes(prob, edges)
    if lap.GAP_DIVISIONS:
        edges = np.concatenate([edges, lap.gap_divisions(prob, edges, lambda rows: cost[rows])])
    return edges.reshape(-1, 2)


def total_cost(
    graph: nx.DiGraph,
    objects: pd.DataFrame,
    candidates: pd.DataFrame,
    edge_costs: NDArray[np.float64],
    costs: LinkCosts | None = None,
    *,
    outside_costs: bool = False,
    config: LinkCosts | None = None,
    labels: Any = None,
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
    edge_costs : (len(candidates),) float array
        Link cost per candidate row (e.g. :func:`~celldyn.track.costs.link_costs`),
        as the solvers' ``edge_costs``.
    costs : LinkCosts, optional
        Event costs (appear, disappear, division, merge) and the division evidence
        weights (``config=`` is its old, deprecated name).
    outside_costs : bool
        `edge_costs` came from elsewhere (the solvers' ``edge_costs``): divisions then cost
        ``division`` only, without the daughters' evidence, as in the solvers.

    Returns
    -------
    float
        ``sum(link costs) + appear * #(in-degree 0) + disappear * #(out-degree 0) +
        division * #(out-degree 2) + merge * #(in-degree 2)`` plus the daughters'
        evidence of each division (:func:`~celldyn.track.costs.division_evidence`;
        not with `outside_costs`). Give the solvers' `labels` when the link costs
        include the IoU term: the division evidence then judges the daughters' union.

    Raises
    ------
    InputError
        If an edge is not a candidate or the graph's nodes are not the rows.
    """
    costs = _renamed(costs, config, "total_cost") or LinkCosts()
    if set(graph.nodes) != set(range(len(objects))):
        raise InputError("graph nodes must be the row positions of objects")
    edge_costs = np.asarray(edge_costs, float)
    src = candidates["source"].to_numpy(np.int64)
    tgt = candidates["target"].to_numpy(np.int64)
    row_of = {(int(a), int(b)): k for k, (a, b) in enumerate(zip(src, tgt))}
    total = 0.0
    for u, v in graph.edges:
        k = row_of.get((int(u), int(v)))
        if k is None:
            raise InputError(f"edge {(u, v)} is not a candidate link")
        total += float(edge_costs[k])
    indeg = np.array([graph.in_degree(i) for i in range(len(objects))])
    outdeg = np.array([graph.out_degree(i) for i in range(len(objects))])
    total += costs.appear * int((indeg == 0).sum()) + costs.disappear * int((outdeg == 0).sum())
    total += costs.division * int((outdeg == 2).sum()) + costs.merge * int((indeg == 2).sum())
    fused = np.flatnonzero(indeg == 2)
    if fused.size and not outside_costs and costs.iou > 0 and labels is not None:
        parents = np.array([sorted(graph.predecessors(int(i))) for i in fused], np.int64)
        pairs = pd.DataFrame({"source": parents.ravel(), "target": np.repeat(fused, 2)})
        iou = iou_of_candidates(labels, objects.reset_index(drop=True), pairs).reshape(-1, 2)
        total += costs.iou * float(union_iou_term(
            objects.reset_index(drop=True), fused, parents[:, 0], parents[:, 1],
            (iou[:, 0], iou[:, 1])).sum())
    mothers = np.flatnonzero(outdeg == 2)
    if mothers.size and not outside_costs:
        kids = np.array([sorted(graph.successors(int(i))) for i in mothers], np.int64)
        objects = objects.reset_index(drop=True)
        spacing = candidates.attrs.get("spacing")
        reference = (conservation_reference(objects, spacing=spacing)
                     if costs.division_conservation > 0
                     and costs.division_conservation_from == "movie" else None)
        link_iou = None
        if costs.iou > 0 and labels is not None:
            pairs = pd.DataFrame({"source": np.repeat(mothers, 2), "target": kids.ravel()})
            iou = iou_of_candidates(labels, objects, pairs).reshape(-1, 2)
            link_iou = (iou[:, 0], iou[:, 1])
        total += float(division_evidence(
            objects, mothers, kids[:, 0], kids[:, 1], costs=costs,
            max_distance=candidates.attrs.get("max_distance"), spacing=spacing,
            conservation=reference, link_iou=link_iou,
        ).sum())
    return float(total)

"""Fast tracking: frame-by-frame assignment, then a gap, division and merge pass.

The two-step scheme of Jaqaman et al. (Nat. Methods 2008), over the candidates and
costs of :mod:`celldyn.track.candidates` and :mod:`celldyn.track.costs`:

1. **Frame to frame.** For each pair of consecutive frames an augmented assignment
   problem links detections one to one or lets them end/start (with fixed costs, no
   motion model, the frame pairs share no row or column, so all of them are solved
   as one block-diagonal sparse problem)::

       [ link costs (n x m)        | disappear (n x n, diagonal) ]
       [ appear (m x m, diagonal)  | 0 on the transposed links   ]

   With a motion model the costs of frame ``t -> t+1`` are computed from the tracks
   as linked up to ``t`` (the prediction is iterated frame by frame).
2. **Segments.** The tracks of step 1 are segments. One more augmented assignment
   has as rows the segment ends and (with ``divisions``) nodes inside segments, and as
   columns the segment starts and (with ``merges``) nodes inside segments:

   - end -> start over 1..max_gap+1 frames closes a gap (cost of the link);
   - middle -> start one frame on is a division: the second daughter's link cost,
     ``division`` and the daughters' evidence
     (:func:`~celldyn.track.costs.division_evidence`, the first daughter being the
     middle node's successor); the alternative for a middle node is not to divide
     (cost 0);
   - end -> middle is a merge (link cost + ``merge``), alternative 0;
   - an end left alone disappears, a start left alone appears.

   2b. **Exchanges** (:func:`exchange_daughters`, off by default: :data:`EXCHANGES`). Steps 1
   and 2 decide in turn, so a daughter the frame pass gave to a nearer neighbour stays
   there; local moves between a mother and a neighbour (swap a daughter for the
   neighbour's continuation, take a hidden division, move a division to the other,
   give a daughter away) are kept where they lower the same objective.
3. **Wide divisions** (only with a ``division_reach`` beyond ``max_distance``: a movie
   that shows no likely division, :mod:`celldyn.track.scale`). A division whose
   sisters lie astride their mother (their midpoint within
   :data:`~celldyn.track.scale.SPLIT_ASTRIDE` x their distance of her, or
   :data:`~celldyn.track.scale.WIDE_ASTRIDE` when both daughters start new tracks)
   has its daughters' position terms and its midpoint term measured in units of the
   reach, in step 2 and here. After step 2, in this order (gaps are closed first; a mother
   whose two daughters both jumped away is the clearer sign):

   - a mother whose track still ends, with two tracks starting one frame on within
     the reach (both daughters beyond the search radius, as in mitosis), divides when
     that costs less than ``disappear + 2 appear``: cheapest first, each node once
     (greedy: such events seldom compete);
   - a node whose one successor is one frame on takes a second daughter beyond the
     search radius, within the reach, that starts a track one frame on (one more
     augmented assignment: not to divide costs 0, the daughter left alone appears).

4. **Divisions across a gap** (:func:`gap_divisions`, on by :data:`GAP_DIVISIONS`): a
   mother whose track bridges a gap to one daughter takes the second daughter that
   starts a track in that same frame, where the division costs less than the daughter
   appearing. Only this form (both daughters after the same gap) is taken: on the
   training parts of the tracking sets (benchmarks/RESULTS.md, 'Tracking: divisions
   across a gap'), allowing either link alone to cross a gap added more false
   divisions than true ones where detections were missed at random.

Steps 1 and 2 are exact for what they decide and minimise the same objective as
:func:`~celldyn.track.solve_global.track_global`; the global solver optimises all
decisions jointly and is therefore never worse (see
:func:`~celldyn.track.solve_global.total_cost`; without a division reach: its
objective does not price wide divisions). With a reach it prices astride divisions in
its units too and runs step 3 on its solution (:func:`wide_division_passes`).

Ours: the formulation. ``scipy.sparse.csgraph.min_weight_full_bipartite_matching``
(LAPJVsp) solves the sparse assignments, so memory grows with the candidates, not
with the square of the detections.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import min_weight_full_bipartite_matching
from scipy.spatial import cKDTree

from . import scale as _scale
from ._problem import Problem, prepare
from .candidates import frame_groups, graph_from_links
from .costs import AXIS_COLUMNS, LinkCosts, along_axis_slack

__all__ = ["exchange_daughters", "gap_divisions", "lap_links", "solve_augmented_lap",
           "track_lap"]

GAP_DIVISIONS = True
"""Step 4 of the module docstring (divisions across a gap); off only to measure it."""

EXCHANGES = False
"""Step 2b of the module docstring (daughters exchanged with a neighbour's
continuation where that lowers the objective). Off: on the training parts it gained 2
true and lost 2 false divisions of about 1,300 (the E. coli colony at every 4th frame;
without that set the rule would have left it off), and held out it lost 2 of the PSC
markers' 29 divisions at every 4th frame and changed nothing on the E. coli colony
(benchmarks/RESULTS.md, 'Tracking: exchanges after the two passes'): where the
division evidence is weak (markers), a cheaper objective is not a truer lineage."""

EXCHANGE_ROUNDS = 4
"""At most this many rounds of exchanges (each round takes the best non-overlapping
ones; a round that finds none ends the pass)."""


def solve_augmented_lap(
    n_rows: int,
    n_cols: int,
    rows: NDArray[np.int64],
    cols: NDArray[np.int64],
    cost: NDArray[np.float64],
    row_alt: NDArray[np.float64] | float,
    col_alt: NDArray[np.float64] | float,
) -> NDArray[np.int64]:
    """Optimal one-to-one links with per-row and per-column alternatives.

    Minimises ``sum(cost[chosen]) + sum(row_alt[unlinked rows]) +
    sum(col_alt[unlinked cols])`` over sets of pairs ``(rows[k], cols[k])`` that use
    each row and column at most once. Pairs must be unique.

    Returns
    -------
    chosen : int array
        Positions ``k`` of the chosen pairs, sorted.

    Examples
    --------
    >>> solve_augmented_lap(2, 2, np.array([0, 0, 1]), np.array([0, 1, 0]),
    ...                     np.array([1.0, 3.0, 2.0]), 4.0, 4.0).tolist()
    [1, 2]
    """
    k = len(rows)
    if n_rows == 0 or n_cols == 0 or k == 0:
        return np.zeros(0, np.int64)
    rows = np.asarray(rows, np.int64)
    cols = np.asarray(cols, np.int64)
    row_alt = np.broadcast_to(np.asarray(row_alt, float), (n_rows,))
    col_alt = np.broadcast_to(np.asarray(col_alt, float), (n_cols,))
    size = n_rows + n_cols
    r = np.concatenate([rows, np.arange(n_rows), n_rows + np.arange(n_cols), n_rows + cols])
    c = np.concatenate([cols, n_cols + np.arange(n_rows), np.arange(n_cols), n_cols + rows])
    v = np.concatenate([np.asarray(cost, float), row_alt, col_alt, np.zeros(k)])
    # Every full matching has `size` entries, so a constant shift keeps the optimum;
    # it makes all weights positive (stored zeros would read as missing edges).
    v = v + (1.0 - min(v.min(), 0.0))
    matrix = csr_matrix((v, (r, c)), shape=(size, size))
    ri, ci = min_weight_full_bipartite_matching(matrix)
    keep = (ri < n_rows) & (ci < n_cols)
    key = rows * n_cols + cols
    order = np.argsort(key, kind="stable")
    want = ri[keep].astype(np.int64) * n_cols + ci[keep]
    chosen = order[np.searchsorted(key[order], want)]
    return np.sort(chosen)


FRAMES_PER_SOLVE = 256
"""Frame pairs solved together in the fixed-cost frame pass (independent blocks)."""


def _local(nodes: NDArray[np.int64]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    uniq, inv = np.unique(nodes, return_inverse=True)
    return uniq, inv


def _assign(
    prob: Problem, rows: NDArray[np.int64], c: NDArray[np.float64]
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """One-frame links among candidate `rows` (costs `c`, +inf forbidden): the
    optimal (sources, targets), unlinked objects paying disappear / appear."""
    ok = np.isfinite(c)
    rows, c = rows[ok], c[ok]
    a_nodes, a_loc = _local(prob.src[rows])
    b_nodes, b_loc = _local(prob.tgt[rows])
    chosen = solve_augmented_lap(
        len(a_nodes), len(b_nodes), a_loc, b_loc, c, prob.costs.disappear, prob.costs.appear
    )
    return prob.src[rows[chosen]], prob.tgt[rows[chosen]]


def _frame_pass(prob: Problem, progress: bool):
    n = prob.n
    succ = np.full(n, -1, np.int64)
    pred = np.full(n, -1, np.int64)
    one = np.flatnonzero(prob.dt == 1)
    if not prob.motion:
        # Fixed costs: the frame-pair problems share no row (a source lies in one frame)
        # and no column, so together they are one block-diagonal assignment with the
        # same optimum; one sparse solve replaces a loop over frames.
        # Long movies: a few hundred frames per solve bound the augmented matrix's
        # memory (it is several times the candidates'); blocks stay independent.
        c_all = prob.cost[one]
        frame_of = prob.t[prob.src[one]]
        for lo in range(int(frame_of.min(initial=0)), int(frame_of.max(initial=-1)) + 1,
                        FRAMES_PER_SOLVE):
            part = (frame_of >= lo) & (frame_of < lo + FRAMES_PER_SOLVE)
            s, g = _assign(prob, one[part], c_all[part])
            succ[s] = g
            pred[g] = s
        return succ, pred, None
    state = prob.motion_state()
    by_frame = frame_groups(prob.t[prob.src[one]]) if one.size else {}
    frames = sorted(by_frame)
    it: Any = frames
    if progress:
        from tqdm.auto import tqdm

        it = tqdm(frames, desc="link", unit="frame")
    for t0 in it:
        rows = one[by_frame[t0]]
        s, g = _assign(prob, rows, prob.costs_of(rows, state))
        succ[s] = g
        pred[g] = s
        state.update(s, g, 1)
    return succ, pred, state


def _pairs_within(prob: Problem, sources: NDArray[np.int64], targets: NDArray[np.int64],
                  radius: float) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Pairs (source, target) of the given nodes, the target one frame after the
    source, within `radius` of it (physical units) but beyond the search radius."""
    out_s, out_t = [], []
    by_frame = frame_groups(prob.t[sources])
    for t1, it in frame_groups(prob.t[targets]).items():
        ia = by_frame.get(t1 - 1)
        if ia is None:
            continue
        a, b = sources[ia], targets[it]
        rec = cKDTree(prob.pos[a]).sparse_distance_matrix(
            cKDTree(prob.pos[b]), radius, output_type="ndarray")
        rec = rec[rec["v"] > prob.max_distance]
        out_s.append(a[rec["i"]])
        out_t.append(b[rec["j"]])
    if not out_s:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return (np.concatenate(out_s).astype(np.int64),
            np.concatenate(out_t).astype(np.int64))


def _segment_pass(prob: Problem, succ, pred, state) -> NDArray[np.int64]:
    costs = prob.costs
    src, tgt = prob.src, prob.tgt
    is_start = pred < 0
    is_end = succ < 0
    gap = np.flatnonzero(is_end[src] & is_start[tgt])
    # a division: a mother's second daughter, in the frame after it (the first one is
    # the mother's successor from the frame pass, also one frame on)
    split = (
        np.flatnonzero(~is_end[src] & is_start[tgt] & (prob.dt == 1))
        if prob.divisions
        else np.zeros(0, int)
    )
    merge = (
        np.flatnonzero(is_end[src] & ~is_start[tgt]) if prob.merges else np.zeros(0, int)
    )
    rows_all = np.concatenate([gap, split, merge]).astype(np.int64)
    s_all, t_all = src[rows_all], tgt[rows_all]
    # a division costs both links, the division and the daughters' evidence; the link
    # to the first daughter is paid already
    first = succ[src[split]]
    c_split = prob.costs_of(split, state) + prob.division_evidence(src[split], first,
                                                                    tgt[split])
    c_parts = [prob.costs_of(gap, state), c_split, prob.costs_of(merge, state)]
    if prob.wide_divisions:
        # sisters astride their mother: measured in units of the division reach
        wide = prob.astride(src[split], first, tgt[split], _scale.SPLIT_ASTRIDE)
        w = split[wide]
        c_split[wide] = prob.reach_costs(w) + prob.division_evidence(
            src[w], first[wide], tgt[w], wide=True)
    c = np.concatenate(c_parts)
    c[gap.size + split.size:gap.size + split.size + merge.size] += prob.merge_cost(
        src[merge], pred[tgt[merge]], tgt[merge])
    if prob.divisions:   # rods' second daughters beyond the radius, along the axis
        m, d, c_rod = _rod_daughters(prob, succ, is_start)
        s_all, t_all = np.concatenate([s_all, m]), np.concatenate([t_all, d])
        c = np.concatenate([c, c_rod])
    ok = np.isfinite(c)
    s_all, t_all, c = s_all[ok], t_all[ok], c[ok]
    if c.size == 0:
        return np.zeros((0, 2), np.int64)
    r_nodes, r_loc = _local(s_all)
    c_nodes, c_loc = _local(t_all)
    row_alt = np.where(is_end[r_nodes], costs.disappear, 0.0)
    col_alt = np.where(is_start[c_nodes], costs.appear, 0.0)
    chosen = solve_augmented_lap(len(r_nodes), len(c_nodes), r_loc, c_loc, c, row_alt, col_alt)
    return np.stack([s_all[chosen], t_all[chosen]], axis=1)


def _rod_daughters(prob: Problem, succ: NDArray[np.int64], is_start: NDArray[np.bool_]
                   ) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
    """Second daughters of rods beyond the search radius
    (:attr:`~celldyn.track.costs.LinkCosts.division_axis_slack`): for each node whose
    successor is one frame on, the track starts one frame on that lie beyond the
    radius from her (where the flow carries her, when the links were measured so) but
    within it once the offset along her long axis is shortened by the slack. Returns
    mothers, daughters and what each such division adds: the link (its terms, the
    position at its full distance) plus the division's cost and evidence, which takes
    the along-axis part back. Empty without the slack, the axis columns or in 3D."""
    costs, obj = prob.costs, prob.objects
    empty = np.zeros(0, np.int64)
    if (costs.division_axis_slack <= 0 or prob.external or prob.pos.shape[1] != 2
            or not all(c in obj for c in AXIS_COLUMNS)):
        return empty, empty, np.zeros(0)
    spacing = prob.candidates.attrs.get("spacing")
    extra = costs.division_axis_slack * np.nan_to_num(
        obj["axis_major_length"].to_numpy(float) - obj["axis_minor_length"].to_numpy(float))
    origin = prob.pos + (0.0 if prob.step is None else np.nan_to_num(prob.step))
    mothers = np.flatnonzero((succ >= 0) & (extra > 0))
    mothers = mothers[prob.t[succ[mothers]] == prob.t[mothers] + 1]
    starts = np.flatnonzero(is_start)
    by_frame = frame_groups(prob.t[starts])
    out_m, out_d = [], []
    for t0, rows in frame_groups(prob.t[mothers]).items():
        targets = by_frame.get(t0 + 1)
        if targets is None:
            continue
        ms, targets = mothers[rows], starts[targets]
        near = cKDTree(prob.pos[targets]).query_ball_point(
            origin[ms], prob.max_distance + extra[ms])
        for mother, hits in zip(ms, near):
            out_m += [mother] * len(hits)
            out_d += targets[hits].tolist()
    m, d = np.asarray(out_m, np.int64), np.asarray(out_d, np.int64)
    off = prob.pos[d] - origin[m]
    dist = np.linalg.norm(off, axis=1)
    eff = np.linalg.norm(along_axis_slack(obj, m, off, costs.division_axis_slack, spacing),
                         axis=1)
    keep = (dist > prob.max_distance) & (eff <= prob.max_distance) & (d != succ[m])
    m, d = m[keep], d[keep]
    if m.size == 0:
        return empty, empty, np.zeros(0)
    cost, iou = prob.daughter_links(m, d, radius=prob.max_distance, flowed=True)
    return m, d, cost + prob.division_evidence(m, succ[m], d, iou2=iou)


def _ending_mothers(prob: Problem, edges: NDArray[np.int64]) -> NDArray[np.int64]:
    """Divisions whose daughters both lie beyond the search radius (no division seen:
    the mother's track ends and two tracks start one frame on, within the division
    reach, astride her: :meth:`Problem.astride`). A division ``m -> (a, b)`` replaces
    an end and two starts when it costs less than ``disappear + 2 appear``; the
    cheapest first, each node used once (greedy: such events seldom compete). Returns
    the new links."""
    out_deg = np.bincount(edges[:, 0], minlength=prob.n)
    in_deg = np.bincount(edges[:, 1], minlength=prob.n)
    m, d = _pairs_within(prob, np.flatnonzero(out_deg == 0), np.flatnonzero(in_deg == 0),
                         prob.division_reach)
    if m.size == 0:
        return np.zeros((0, 2), np.int64)
    link, iou = prob.daughter_links(m, d)
    order = np.lexsort((d, m))
    m, d, link = m[order], d[order], link[order]
    iou = None if iou is None else iou[order]
    a, b = Problem.same_source(m)
    keep = prob.astride(m[a], d[a], d[b], _scale.WIDE_ASTRIDE)
    a, b = a[keep], b[keep]
    cost = link[a] + link[b] + prob.division_evidence(
        m[a], d[a], d[b], iou1=None if iou is None else iou[a],
        iou2=None if iou is None else iou[b], wide=True)
    alternative = prob.costs.disappear + 2 * prob.costs.appear
    used = np.zeros(prob.n, bool)
    new = []
    for k in np.argsort(cost, kind="stable"):
        if cost[k] >= alternative:
            break
        trio = (m[a[k]], d[a[k]], d[b[k]])
        if used[list(trio)].any():
            continue
        used[list(trio)] = True
        new += [(trio[0], trio[1]), (trio[0], trio[2])]
    return np.asarray(new, np.int64).reshape(-1, 2)


def _far_daughters(prob: Problem, edges: NDArray[np.int64]) -> NDArray[np.int64]:
    """Second daughters beyond the search radius, within the division reach and
    astride their mother with her first: one more augmented assignment of the nodes
    with one successor (alternative: no division, 0) to the nodes without a
    predecessor one frame on (alternative: appear). Returns the new links."""
    out_deg = np.bincount(edges[:, 0], minlength=prob.n)
    in_deg = np.bincount(edges[:, 1], minlength=prob.n)
    succ = np.full(prob.n, -1, np.int64)
    succ[edges[:, 0]] = edges[:, 1]
    m, d = _pairs_within(prob, np.flatnonzero(out_deg == 1), np.flatnonzero(in_deg == 0),
                         prob.division_reach)
    one = prob.t[succ[m]] == prob.t[m] + 1  # the first daughter one frame on, too
    m, d = m[one], d[one]
    keep = prob.astride(m, succ[m], d, _scale.SPLIT_ASTRIDE)
    m, d = m[keep], d[keep]
    if m.size == 0:
        return np.zeros((0, 2), np.int64)
    link, iou = prob.daughter_links(m, d)
    c = link + prob.division_evidence(m, succ[m], d, iou2=iou, wide=True)
    return _second_daughters(prob, m, d, c)


def _row_lookup(prob: Problem) -> Callable[[NDArray[np.int64], NDArray[np.int64]],
                                             NDArray[np.int64]]:
    """Candidate row of each one-frame link ``a -> b`` (-1 where it is no candidate)."""
    one = np.flatnonzero((prob.dt == 1) & np.isfinite(prob.cost))
    key = prob.src[one] * prob.n + prob.tgt[one]
    order = np.argsort(key, kind="stable")
    sk, rows = key[order], one[order]

    def row(a: NDArray[np.int64], b: NDArray[np.int64]) -> NDArray[np.int64]:
        q = np.asarray(a, np.int64) * prob.n + np.asarray(b, np.int64)
        if sk.size == 0:
            return np.full(q.shape, -1, np.int64)
        i = np.clip(np.searchsorted(sk, q), 0, sk.size - 1)
        return np.where(sk[i] == q, rows[i], -1)

    return row


def _second_cost(prob: Problem, row, m, first, second) -> NDArray[np.float64]:
    """What a division ``m -> (first, second)`` adds to the link ``m -> first``: the
    second link and the division's evidence, priced as step 2 prices it (astride
    sisters in units of the division reach when the movie showed no likely division);
    the cheaper of the two orders."""
    assert prob.cost is not None
    out = []
    for f, s in ((first, second), (second, first)):
        rf, rs = row(m, f), row(m, s)
        c = prob.cost[rf] - prob.cost[row(m, first)] + prob.cost[rs] + prob.division_evidence(
            m, f, s)
        if prob.wide_divisions and len(m):
            w = prob.astride(m, f, s, _scale.SPLIT_ASTRIDE)
            if w.any():
                c[w] = (prob.cost[rf[w]] - prob.cost[row(m[w], first[w])]
                        + prob.reach_costs(rs[w])
                        + prob.division_evidence(m[w], f[w], s[w], wide=True))
        out.append(c)
    return np.minimum(*out)


def exchange_daughters(prob: Problem, edges: NDArray[np.int64]) -> NDArray[np.int64]:
    """Step 2b of the module docstring: local exchanges that lower the objective.

    Steps 1 and 2 decide in turn: the frame pass gives each mother one daughter
    before any division is priced, so the other daughter may go to a neighbour to
    whom she lies nearer, and step 2 can then only offer the mother the neighbour's
    own continuation (a three-way exchange: one false division, one missed). Four
    moves between a mother ``m`` and a neighbour ``n`` in the same frame, each taken
    where it lowers the objective of steps 1 and 2 (links, events, the division's
    evidence), the best non-overlapping ones first, for at most
    :data:`EXCHANGE_ROUNDS` rounds:

    - *swap*: ``m -> (y, x), n -> z`` becomes ``m -> (y, z), n -> x``;
    - *take*: ``m -> a, n -> b`` with ``c`` appearing becomes ``m -> (a, b), n -> c``;
    - *move*: ``m -> (a, b), n -> c`` becomes ``m -> a, n -> (c, b)``;
    - *give*: ``m -> (a, b)`` with ``n -> c`` (``c`` then appears) or with ``n``
      ending becomes ``m -> a, n -> b``.

    Only one-frame links that are candidates of the table take part (not rods'
    second daughters beyond the radius, not gaps); fixed link costs only (no motion
    model; link costs from outside price divisions by their links alone, so they are
    left as they are).
    """
    if (not prob.divisions or prob.cost is None or prob.external or prob.n == 0
            or len(edges) == 0):
        return edges
    row = _row_lookup(prob)
    cost = prob.cost
    costs = prob.costs
    edges = np.asarray(edges, np.int64).copy()
    for _ in range(EXCHANGE_ROUNDS):
        moves = _exchange_moves(prob, edges, row, cost, costs)
        if not moves:
            break
        moves.sort(key=lambda mv: mv[0])
        used = np.zeros(prob.n, bool)
        drop: list[tuple[int, int]] = []
        add: list[tuple[int, int]] = []
        for _delta, nodes, out, new in moves:
            if used[list(nodes)].any():
                continue
            used[list(nodes)] = True
            drop += out
            add += new
        gone = {a * prob.n + b for a, b in drop}
        keep = np.array([a * prob.n + b not in gone for a, b in edges.tolist()], bool)
        edges = np.concatenate([edges[keep], np.asarray(add, np.int64).reshape(-1, 2)])
    return edges


def _exchange_moves(prob, edges, row, cost, costs) -> list:
    """The improving moves of :func:`exchange_daughters` on `edges`:
    ``(delta, nodes, links out, links in)``."""
    n = prob.n
    t = prob.t
    out_deg = np.bincount(edges[:, 0], minlength=n)
    in_deg = np.bincount(edges[:, 1], minlength=n)
    one = (t[edges[:, 1]] - t[edges[:, 0]] == 1) & (in_deg[edges[:, 1]] == 1)
    # continuation n -> z: one child, one frame on, whose only parent n is
    cont = np.full(n, -1, np.int64)
    c1 = edges[one & (out_deg[edges[:, 0]] == 1)]
    cont[c1[:, 0]] = c1[:, 1]
    # divisions m -> (p, q), both one frame on, each with one parent
    e2 = edges[one & (out_deg[edges[:, 0]] == 2)]
    e2 = e2[np.argsort(e2[:, 0], kind="stable")]
    pair = np.flatnonzero(e2[1:, 0] == e2[:-1, 0]) if len(e2) > 1 else np.zeros(0, int)
    dm, dp, dq = e2[pair, 0], e2[pair, 1], e2[pair + 1, 1]
    pred = np.full(n, -1, np.int64)
    pred[edges[:, 1]] = edges[:, 0]
    moves: list = []
    eps = 1e-9
    if dm.size:
        ok = (row(dm, dp) >= 0) & (row(dm, dq) >= 0)
        dm, dp, dq = dm[ok], dp[ok], dq[ok]
    if dm.size:
        # every division, each daughter in turn as the one exchanged (x), y the other
        m = np.concatenate([dm, dm])
        x = np.concatenate([dp, dq])
        y = np.concatenate([dq, dp])
        # what the division adds to the link m -> y
        here = _second_cost(prob, row, m, y, x)
        rx = np.flatnonzero(np.isin(prob.tgt, x) & (prob.dt == 1) & np.isfinite(cost))
        ox = np.argsort(x, kind="stable")
        i = ox[np.searchsorted(x[ox], prob.tgt[rx])]   # a daughter has one mother
        nn, xx, mm, yy = prob.src[rx], prob.tgt[rx], m[i], y[i]
        ok = (nn != mm) & (out_deg[nn] <= 1)
        rx, i, nn, xx, mm, yy = rx[ok], i[ok], nn[ok], xx[ok], mm[ok], yy[ok]
        z = cont[nn]
        has = z >= 0
        old_n = np.where(has, cost[row(nn, np.where(has, z, nn))], 0.0)
        lose = cost[rx] - here[i]   # n takes x, m loses her

        def add(sel, d, out, new):
            for k in np.flatnonzero(sel)[d[sel] < -eps].tolist():
                nodes = {int(v[k]) for v in (mm, nn, xx, yy)} | (
                    {int(z[k])} if z[k] >= 0 else set())
                moves.append((float(d[k]), tuple(nodes), out(k), new(k)))

        # swap: m -> (y, z), n -> x
        rz = np.where(has, row(mm, np.where(has, z, mm)), -1)
        sw = has & (rz >= 0)
        d = np.full(rx.size, np.inf)
        d[sw] = lose[sw] - old_n[sw] + _second_cost(prob, row, mm[sw], yy[sw], z[sw])
        add(sw, d, lambda k: [(mm[k], xx[k]), (nn[k], z[k])],
            lambda k: [(mm[k], z[k]), (nn[k], xx[k])])
        # move the division: m -> y alone, n -> (z, x)
        d = np.full(rx.size, np.inf)
        d[has] = _second_cost(prob, row, nn[has], z[has], xx[has]) - here[i[has]]
        add(has, d, lambda k: [(mm[k], xx[k])], lambda k: [(nn[k], xx[k])])
        # give: m -> y alone, n -> x, z appears
        d = lose + costs.appear - old_n
        add(has, d, lambda k: [(mm[k], xx[k]), (nn[k], z[k])], lambda k: [(nn[k], xx[k])])
        # give to a neighbour whose track ends
        d = lose - costs.disappear
        add(~has & (out_deg[nn] == 0), d, lambda k: [(mm[k], xx[k])],
            lambda k: [(nn[k], xx[k])])
    # take: m -> a and n -> b (continuations), c a start one frame on: m -> (a, b), n -> c
    if (cont >= 0).any():
        cand = np.flatnonzero((prob.dt == 1) & np.isfinite(cost) & (cont[prob.src] >= 0))
        cm, cb = prob.src[cand], prob.tgt[cand]
        nb = pred[cb]
        ok = (cb != cont[cm]) & (nb >= 0) & (nb != cm)
        ok[ok] &= cont[nb[ok]] == cb[ok]
        cand, cm, cb, nb = cand[ok], cm[ok], cb[ok], nb[ok]
        if cand.size:
            starts = (in_deg == 0)
            sr = np.flatnonzero((prob.dt == 1) & np.isfinite(cost) & starts[prob.tgt])
            sr = sr[np.argsort(prob.src[sr], kind="stable")]
            lo = np.searchsorted(prob.src[sr], nb, side="left")
            hi = np.searchsorted(prob.src[sr], nb, side="right")
            ia = np.repeat(np.arange(cand.size), hi - lo)
            if ia.size:
                first = np.repeat(lo - np.concatenate([[0], np.cumsum(hi - lo)[:-1]]),
                                  hi - lo)
                cc = prob.tgt[sr[first + np.arange(ia.size)]]
                mm, bb, nn = cm[ia], cb[ia], nb[ia]
                aa = cont[mm]
                d = (cost[row(nn, cc)] + _second_cost(prob, row, mm, aa, bb)
                     - cost[row(nn, bb)] - costs.appear)
                for k in np.flatnonzero(d < -eps).tolist():
                    moves.append((float(d[k]), (int(mm[k]), int(nn[k]), int(aa[k]),
                                                int(bb[k]), int(cc[k])),
                                  [(int(nn[k]), int(bb[k]))],
                                  [(int(mm[k]), int(bb[k])), (int(nn[k]), int(cc[k]))]))
    return moves


def gap_divisions(prob: Problem, edges: NDArray[np.int64],
                  link_cost: Callable[[NDArray[np.int64]], NDArray[np.float64]]
                  ) -> NDArray[np.int64]:
    """Divisions across a gap (step 4 of the module docstring): a mother whose one link
    crosses a gap (the frames after her lack her: a missed detection, a blank frame)
    takes a second daughter that starts a track in the same frame as her first. Step 2
    cannot see such a division: it closes the mother's gap to one daughter and sees the
    other only as a track start. One more augmented assignment of the candidate links
    mother -> daughter: the link's cost (`link_cost` of candidate rows) plus the
    division and the daughters' evidence; alternatives: no division (0) and the
    daughter appearing. Returns the new links."""
    if not prob.divisions or prob.n == 0 or len(edges) == 0:
        return np.zeros((0, 2), np.int64)
    out_deg = np.bincount(edges[:, 0], minlength=prob.n)
    in_deg = np.bincount(edges[:, 1], minlength=prob.n)
    succ = np.full(prob.n, -1, np.int64)
    succ[edges[:, 0]] = edges[:, 1]
    src, tgt = prob.src, prob.tgt
    rows = np.flatnonzero((out_deg[src] == 1) & (in_deg[tgt] == 0))
    first = succ[src[rows]]
    # both daughters in the first frame after the gap: the mother's link crosses it
    # (the daughter, a track start, is never the mother's successor)
    across = (prob.dt[rows] > 1) & (prob.t[first] == prob.t[tgt[rows]])
    rows, first = rows[across], first[across]
    if rows.size == 0:
        return np.zeros((0, 2), np.int64)
    c = link_cost(rows) + prob.division_evidence(src[rows], first, tgt[rows])
    return _second_daughters(prob, src[rows], tgt[rows], c)


def _second_daughters(prob: Problem, m: NDArray[np.int64], d: NDArray[np.int64],
                      c: NDArray[np.float64]) -> NDArray[np.int64]:
    """The links ``m -> d`` (mothers with one daughter already, candidate second
    daughters that start a track) one augmented assignment chooses at costs `c`: not to
    divide costs 0, a daughter left alone appears."""
    ok = np.isfinite(c)
    m, d, c = m[ok], d[ok], c[ok]
    if c.size == 0:
        return np.zeros((0, 2), np.int64)
    r_nodes, r_loc = _local(m)
    c_nodes, c_loc = _local(d)
    chosen = solve_augmented_lap(len(r_nodes), len(c_nodes), r_loc, c_loc, c, 0.0,
                                 prob.costs.appear)
    return np.stack([m[chosen], d[chosen]], axis=1)


def track_lap(
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
    progress: bool = False,
    division_reach: float | None = None,
) -> nx.DiGraph:
    """Track detections with frame-by-frame LAP plus a gap/division/merge pass.

    Parameters
    ----------
    objects : DataFrame
        Detections, columns ``t, label, [z,] y, x`` (pixels) and optional features
        (``area``, ``intensity_mean``, ``eccentricity``, ``solidity``), as from
        :func:`celldyn.measure.measure_objects`. Node ``i`` is row ``i``.
    labels : (T, [Z,] Y, X) int array, optional
        The label movie `objects` were measured on; enables the IoU cost.
    max_distance : float
        Largest displacement between consecutive frames, in units of `spacing`.
    max_gap : int
        Largest number of missing frames a track may bridge (0 = no gap closing).
    divisions : bool
        Allow a node two successors.
    merges : bool
        Allow a node two predecessors (off by default; CTC cannot encode them).
    costs : LinkCosts, optional
        Cost weights, motion model and event costs. Default ``LinkCosts()``.
    spacing : sequence of float, optional
        Physical pixel size per spatial axis.
    edge_costs : (len(candidates),) float array, optional
        Link costs from elsewhere (e.g. ``-log p`` of a learned model), one per row of
        ``candidate_links(objects, max_distance=..., max_gap=..., spacing=...)``
        (or of `candidates`); they replace the cost terms and the motion model. +inf
        forbids a link. Event costs still come from `costs`.
    candidates : DataFrame, optional
        A precomputed candidate table (that `edge_costs` is aligned with).
    progress : bool
        Show a progress bar over frames.
    division_reach : float, optional
        How far a daughter may lie from her mother, when farther than `max_distance`
        (a movie that shows no likely division:
        :attr:`~celldyn.track.scale.MotionScale.division_reach`). A second daughter's
        link, and the division's midpoint term, are then measured in units of it; a
        mother whose track ends where two tracks start one frame on within it may
        divide (see :func:`_ending_mothers`). Other links keep `max_distance`. Ignored
        with `edge_costs` or `candidates`.

    Returns
    -------
    graph : networkx.DiGraph
        One node per row of `objects` (``t``, ``seg_id``, centroid), edges forward in
        time over at most ``max_gap + 1`` frames; out-degree 2 = division, in-degree
        2 = merge. :func:`lap_links` gives the links alone, as an array (long
        movies: a networkx node costs about a kilobyte).

    Raises
    ------
    InputError
        On missing columns, bad `max_distance`/`max_gap`, or misaligned `edge_costs`.

    Examples
    --------
    >>> objects = pd.DataFrame({"t": [0, 1, 1, 3], "label": [1, 1, 2, 1],
    ...                         "y": [0.0, -2.0, 2.0, 2.5], "x": [0.0, 0.0, 0.0, 0.0]})
    >>> sorted(track_lap(objects, max_distance=4, max_gap=1).edges)
    [(0, 1), (0, 2), (2, 3)]
    """
    edges = lap_links(
        objects, labels=labels, max_distance=max_distance, max_gap=max_gap,
        divisions=divisions, merges=merges, costs=costs, spacing=spacing,
        edge_costs=edge_costs, candidates=candidates, progress=progress,
        division_reach=division_reach,
    )
    graph = graph_from_links(objects.reset_index(drop=True), edges)
    graph.graph["tracker"] = "lap"
    return graph


def lap_links(
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
    progress: bool = False,
    conservation: tuple[float, float] | None | str = "movie",
    division_reach: float | None = None,
) -> NDArray[np.int64]:
    """The links of :func:`track_lap` as an ``(E, 2)`` array of row positions of
    `objects` (source, target): what :func:`~celldyn.track.track_objects` builds its
    :class:`~celldyn.track.Tracks` from, without a graph. `conservation` is the
    movie's daughters' size reference
    (:func:`~celldyn.track.scale.conservation_reference`) when already measured;
    ``"movie"`` (default) measures it here when `costs` ask for it.
    `division_reach` (as :func:`track_lap`).

    Examples
    --------
    >>> objects = pd.DataFrame({"t": [0, 1, 1, 3], "label": [1, 1, 2, 1],
    ...                         "y": [0.0, -2.0, 2.0, 2.5], "x": [0.0, 0.0, 0.0, 0.0]})
    >>> sorted(lap_links(objects, max_distance=4, max_gap=1).tolist())
    [[0, 1], [0, 2], [2, 3]]
    """
    prob = prepare(
        objects, labels=labels, max_distance=max_distance, max_gap=max_gap, costs=costs,
        spacing=spacing, edge_costs=edge_costs, candidates=candidates,
        divisions=divisions, merges=merges, conservation=conservation,
        division_reach=division_reach,
    )
    succ, pred, state = _frame_pass(prob, progress)
    linked = np.flatnonzero(succ >= 0)
    edges = np.concatenate(
        [np.stack([linked, succ[linked]], axis=1), _segment_pass(prob, succ, pred, state)]
    ).astype(np.int64).reshape(-1, 2)
    if EXCHANGES:
        edges = exchange_daughters(prob, edges)
    if prob.wide_divisions:
        edges = wide_division_passes(prob, edges)
    if GAP_DIVISIONS:
        edges = np.concatenate([edges, gap_divisions(
            prob, edges, lambda rows: prob.costs_of(rows, state))])
    return edges


def wide_division_passes(prob: Problem, edges: NDArray[np.int64]) -> NDArray[np.int64]:
    """Step 3 of the module docstring on a solution's links (LAP's or the global
    solver's): `edges` plus the divisions of ending mothers, then far second
    daughters."""
    edges = np.concatenate([edges, _ending_mothers(prob, edges)])
    return np.concatenate([edges, _far_daughters(prob, edges)])

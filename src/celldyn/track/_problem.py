"""The tracking problem shared by the solvers: candidates, costs, motion."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ..errors import InputError
from .candidates import (
    candidate_links,
    check_max_distance,
    check_max_gap,
    check_objects,
    physical_positions,
)
from .costs import (
    LinkCosts,
    conservation_reference,
    division_evidence,
    iou_of_candidates,
    position_costs,
    static_costs,
    union_iou_term,
)
from . import scale as _scale
from .motion import MotionState


@dataclass
class Problem:
    objects: pd.DataFrame
    candidates: pd.DataFrame
    src: NDArray[np.int64]
    tgt: NDArray[np.int64]
    dt: NDArray[np.int64]
    t: NDArray[np.int64]
    pos: NDArray[np.float64]
    costs: LinkCosts
    max_distance: float
    static: NDArray[np.float64]
    cost: NDArray[np.float64] | None  # fixed costs; None when motion makes them dynamic
    divisions: bool
    merges: bool
    external: bool = False  # link costs came from outside (edge_costs)
    conservation: tuple[float, float] | None = None  # the movie's size reference
    iou: NDArray[np.float64] | None = None  # mask IoU per candidate row (costs.iou > 0)
    labels: Any = None  # the label movie (IoU of links outside the table)
    division_reach: float = 0.0  # how far a daughter may lie (>= max_distance; 0: same)
    step: NDArray[np.float64] | None = None  # per-object flow step the links were measured by

    def __post_init__(self) -> None:
        self.division_reach = max(self.division_reach, self.max_distance)

    @property
    def wide_divisions(self) -> bool:
        """Daughters may lie beyond the search radius (no division seen in the movie:
        :attr:`~celldyn.track.scale.MotionScale.division_reach`)."""
        return self.divisions and self.division_reach > self.max_distance

    @property
    def n(self) -> int:
        return len(self.objects)

    @property
    def motion(self) -> bool:
        return self.cost is None

    def motion_state(self) -> MotionState:
        d2 = self.max_distance**2
        return MotionState(
            self.pos,
            self.costs.motion,
            process_noise=self.costs.kalman_process_noise * d2,
            measurement_noise=self.costs.kalman_measurement_noise * d2,
            initial_velocity_var=0.25 * d2,
        )

    def costs_of(
        self, rows: NDArray[np.int64], state: MotionState | None = None
    ) -> NDArray[np.float64]:
        """Link costs of candidate rows (with motion prediction from `state`)."""
        if self.cost is not None:
            return self.cost[rows]
        assert state is not None
        sub = self.candidates.iloc[rows]
        predicted = state.predict(self.src[rows], self.dt[rows])
        return self.static[rows] + position_costs(
            self.objects, sub, costs=self.costs, max_distance=self.max_distance,
            spacing=self.candidates.attrs.get("spacing"), predicted=predicted,
        )


    def division_evidence(
        self, mother: NDArray[np.int64], d1: NDArray[np.int64], d2: NDArray[np.int64],
        *, iou1: NDArray[np.float64] | None = None,
        iou2: NDArray[np.float64] | None = None, wide: bool = False,
    ) -> NDArray[np.float64]:
        """Division cost beyond the two links: the event cost, plus the daughters'
        evidence unless the link costs come from outside (a learned model scores
        divisions through its own link probabilities). Distances are in units of the
        search radius, or with `wide` of the division reach; `iou1`, `iou2`: the IoU
        of ``mother -> d1`` / ``mother -> d2`` when that link is not a candidate of the
        table."""
        if self.external:
            return np.full(len(mother), self.costs.division)
        link_iou = self.link_iou(mother, d1, d2)
        if link_iou is not None:
            link_iou = tuple(np.asarray(given if given is not None else table, float)
                             for given, table in zip((iou1, iou2), link_iou))
        return self.costs.division + division_evidence(
            self.objects, mother, d1, d2, costs=self.costs,
            max_distance=self.division_reach if wide else self.max_distance,
            spacing=self.candidates.attrs.get("spacing"),
            conservation=self.conservation, link_iou=link_iou, step=self.step,
        )

    def astride(self, mother: NDArray[np.int64], d1: NDArray[np.int64],
                d2: NDArray[np.int64], gate: float) -> NDArray[np.bool_]:
        """Whether the sisters lie astride their mother: their midpoint within `gate`
        x their distance of her (what a division beyond the search radius must show:
        :data:`~celldyn.track.scale.SPLIT_ASTRIDE` with a first daughter that continues her
        track, :data:`~celldyn.track.scale.WIDE_ASTRIDE` when both jumped away)."""
        p = self.pos
        m, a, b = (np.asarray(v, np.int64) for v in (mother, d1, d2))
        off = np.linalg.norm(0.5 * (p[a] + p[b]) - p[m], axis=1)
        return off <= gate * np.linalg.norm(p[a] - p[b], axis=1)

    def reach_costs(self, rows: NDArray[np.int64]) -> NDArray[np.float64]:
        """Cost of candidate `rows` as daughter links of an astride division: the
        static terms plus the position term in units of the division reach."""
        d = self.candidates["distance"].to_numpy(float)[rows]
        return self.static[rows] + self.costs.position * (d / self.division_reach) ** 2

    def daughter_links(
        self, mother: NDArray[np.int64], daughter: NDArray[np.int64], *,
        radius: float | None = None, flowed: bool = False,
    ) -> tuple[NDArray[np.float64], NDArray[np.float64] | None]:
        """Cost and IoU of one-frame links ``mother -> daughter`` that need not be
        candidates of the table (a daughter beyond the search radius but within the
        division reach): the static terms plus the position term in units of `radius`
        (default the reach), measured from the mother (a daughter is born beside her,
        whatever her motion) or, with `flowed`, from where the flow the links were
        measured by (:attr:`step`) carries her."""
        m, d = np.asarray(mother, np.int64), np.asarray(daughter, np.int64)
        origin = self.pos[m]
        if flowed and self.step is not None:
            origin = origin + np.nan_to_num(self.step[m])
        dist = np.linalg.norm(self.pos[d] - origin, axis=1)
        cands = pd.DataFrame({"source": m, "target": d, "dt": np.ones(len(m), np.int64),
                              "distance": dist})
        cands.attrs["spacing"] = self.candidates.attrs.get("spacing")
        iou = (iou_of_candidates(self.labels, self.objects, cands,
                                 step=self.step if self.costs.iou_flow else None)
               if self.iou is not None and self.labels is not None else None)
        cost = static_costs(self.objects, cands, costs=self.costs, labels=self.labels,
                            iou=iou)
        reach = self.division_reach if radius is None else radius
        cost += self.costs.position * (dist / reach) ** 2
        return cost, iou

    def merge_cost(
        self, source: NDArray[np.int64], other: NDArray[np.int64], target: NDArray[np.int64]
    ) -> NDArray[np.float64]:
        """Merge cost beyond the link ``source -> target``: the event cost, plus with the
        IoU term how well `source` and `other` (the target's other predecessor)
        together cover the target (:func:`~celldyn.track.costs.union_iou_term`)."""
        out = np.full(len(source), self.costs.merge)
        if self.iou is not None and len(source) and "area" in self.objects:
            i1, i2 = self._iou_of(source, target), self._iou_of(other, target)
            out += self.costs.iou * union_iou_term(self.objects, target, source, other,
                                                   (i1, i2))
        return out

    def _iou_of(self, a: NDArray[np.int64], b: NDArray[np.int64]) -> NDArray[np.float64]:
        """The IoU of candidate links a -> b (0 for a pair that is no candidate)."""
        assert self.iou is not None
        n = self.n
        keys = self.src * n + self.tgt
        order = np.argsort(keys, kind="stable")
        sk = keys[order]
        q = np.asarray(a, np.int64) * n + np.asarray(b, np.int64)
        if len(sk) == 0:
            return np.zeros(len(q))
        i = np.clip(np.searchsorted(sk, q), 0, len(sk) - 1)
        return np.where(sk[i] == q, self.iou[order[i]], 0.0)

    def link_iou(self, mother, d1, d2):
        """IoU of the links mother -> d1 and mother -> d2 (None without the IoU term)."""
        if self.iou is None:
            return None
        return self._iou_of(mother, d1), self._iou_of(mother, d2)

    @staticmethod
    def same_source(sources: NDArray[np.int64]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """Positions ``(i, j)``, ``i < j``, of every two entries of `sources` (sorted)
        that are equal: the pairs of links out of one mother."""
        r1, r2 = [], []
        for off in range(1, len(sources)):
            same = np.flatnonzero(sources[off:] == sources[:-off])
            if same.size == 0:
                break
            r1.append(same)
            r2.append(same + off)
        if not r1:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        return np.concatenate(r1), np.concatenate(r2)

    def division_pairs(
        self, cost: NDArray[np.float64], rows: NDArray[np.int64] | None = None
    ) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
        """Candidate divisions: pairs of one-frame links out of one mother.

        Returns the two candidate rows of each pair and its cost (both links, the
        division and the evidence). A pair that costs at least ``min(link) + appear``
        is left out: one link plus an appearing daughter explains the same nodes no
        dearer.
        """
        if rows is None:
            rows = np.arange(len(self.src))
        rows = rows[(self.dt[rows] == 1) & np.isfinite(cost[rows])]
        rows = rows[np.argsort(self.src[rows], kind="stable")]
        i, j = self.same_source(self.src[rows])
        a, b = rows[i], rows[j]
        c1, c2 = cost[a], cost[b]
        zc = c1 + c2 + self.division_evidence(self.src[a], self.tgt[a], self.tgt[b])
        if self.wide_divisions:  # sisters astride their mother: in units of the reach
            w = self.astride(self.src[a], self.tgt[a], self.tgt[b], _scale.SPLIT_ASTRIDE)
            zc[w] = (self.reach_costs(a[w]) + self.reach_costs(b[w])
                     + self.division_evidence(self.src[a[w]], self.tgt[a[w]], self.tgt[b[w]],
                                              wide=True))
        keep = zc < np.minimum(c1, c2) + self.costs.appear
        return a[keep], b[keep], zc[keep]


def prepare(
    objects: pd.DataFrame,
    *,
    labels: Any,
    max_distance: float,
    max_gap: int,
    costs: LinkCosts | None,
    spacing: Sequence[float] | None,
    edge_costs: NDArray[np.float64] | None,
    candidates: pd.DataFrame | None,
    divisions: bool,
    merges: bool,
    conservation: tuple[float, float] | None | str = "movie",
    division_reach: float | None = None,
) -> Problem:
    """The linking problem both solvers solve. `conservation`: the movie's daughters'
    size reference (:func:`~celldyn.track.scale.conservation_reference`) when already
    measured, ``"movie"`` to measure it here. `division_reach`: how far a daughter may
    lie from her mother (default and at most `max_distance`; only when the problem
    makes its own candidates and costs)."""
    check_objects(objects)
    max_distance = check_max_distance(max_distance)
    max_gap = check_max_gap(max_gap)
    costs = costs if costs is not None else LinkCosts()
    if not isinstance(costs, LinkCosts):
        raise InputError(f"costs must be a LinkCosts; got {type(costs).__name__}")
    objects = objects.reset_index(drop=True)
    reach = max_distance
    if division_reach is not None and candidates is None and edge_costs is None:
        reach = max(max_distance, check_max_distance(division_reach))
    if candidates is None:
        candidates = candidate_links(
            objects, max_distance=max_distance, max_gap=max_gap, spacing=spacing
        )
    else:
        missing = [c for c in ("source", "target", "dt", "distance") if c not in candidates]
        if missing:
            raise InputError(f"candidates lack columns {missing}")
        candidates = candidates.reset_index(drop=True)
        if not candidates.attrs.get("max_distance"):
            candidates.attrs["max_distance"] = max_distance
        candidates.attrs.setdefault(
            "spacing", None if spacing is None else tuple(float(s) for s in spacing)
        )
    src = candidates["source"].to_numpy(np.int64)
    tgt = candidates["target"].to_numpy(np.int64)
    t = objects["t"].to_numpy(np.int64)
    if len(candidates) and (
        src.min() < 0 or tgt.min() < 0 or max(src.max(), tgt.max()) >= len(objects)
    ):
        raise InputError("candidates refer to rows that objects do not have")
    dt = t[tgt] - t[src]
    if (dt < 1).any():
        raise InputError("candidate links must go forward in time (t[target] > t[source])")
    pos = physical_positions(objects, spacing)
    if edge_costs is not None:
        edge_costs = np.asarray(edge_costs, float).ravel()
        if edge_costs.shape != (len(candidates),):
            raise InputError(
                f"edge_costs must have one value per candidate row ({len(candidates)}); "
                f"got {edge_costs.shape[0]}"
            )
        if np.isnan(edge_costs).any():
            raise InputError("edge_costs contain NaN; use +inf to forbid a link")
        static = edge_costs
        cost: NDArray[np.float64] | None = edge_costs
    else:
        iou = (iou_of_candidates(labels, objects, candidates,
                                 step=candidates.attrs.get("step") if costs.iou_flow else None)
               if costs.iou > 0 and labels is not None else None)
        static = static_costs(objects, candidates, costs=costs, labels=labels, iou=iou)
        if costs.motion == "none":
            cost = static + position_costs(
                objects, candidates, costs=costs, max_distance=max_distance
            )
        else:
            cost = None
    if (divisions and edge_costs is None and costs.division_conservation > 0
            and costs.division_conservation_from == "movie"):
        if isinstance(conservation, str):
            conservation = conservation_reference(objects, spacing=spacing)
    else:
        conservation = None
    if edge_costs is not None:
        iou = None
    # +inf forbids a link: drop those rows (keeping positions into the full table)
    return Problem(
        objects=objects, candidates=candidates, src=src, tgt=tgt, dt=dt, t=t, pos=pos,
        costs=costs, max_distance=max_distance, static=static, cost=cost,
        divisions=bool(divisions), merges=bool(merges), external=edge_costs is not None,
        conservation=conservation, iou=iou if edge_costs is None else None,
        labels=labels, division_reach=reach, step=candidates.attrs.get("step"),
    )

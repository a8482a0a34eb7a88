"""3D measurement speed: solidity by celldyn.measure.hull vs scikit-image's convex hull.

``celldyn.measure.measure_objects`` on 3D labels computes solidity with
:func:`celldyn.measure.hull.hull_voxel_count` (the voxel count of scikit-image's
``convex_hull_image``, row by row). This times, on real 3D label images, the whole
``measure_objects`` call and the scikit-image way it replaced
(``regionprops_table(..., properties=[..., "solidity"])``, same columns), and checks
that the solidity columns are identical. Sets: the CHO nuclei movie's SEG frames
(Fluo-N3DH-CHO-02-subset, 02_ERR_SEG) and the PlantSeg 3D nuclei masks
(seg-PlantSeg-3D-nuclei), the first ``--images`` (3) of each. One core.

    python benchmarks/measure_3d.py
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import tifffile

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _results import markdown_table, write_section  # noqa: E402

SECTION = "Measurement: 3D solidity (benchmarks/measure_3d.py)"
SOURCES = (("Fluo-N3DH-CHO-02-subset", "02_ERR_SEG/*.tif"),
           ("seg-PlantSeg-3D-nuclei", "masks/*.tif"))
PROPS = ["label", "centroid", "area", "bbox", "solidity"]


def main(argv: list[str] | None = None) -> int:
    from skimage.measure import regionprops_table

    from celldyn.measure.features import measure_objects

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=HERE.parents[1] / "shared" / "data")
    ap.add_argument("--json", type=Path, default=HERE / "measure_3d.json")
    ap.add_argument("--images", type=int, default=3, help="label images per set")
    ap.add_argument("--no-results-md", action="store_true")
    args = ap.parse_args(argv)
    rows = []
    for name, pattern in SOURCES:
        for f in sorted((args.data / name).glob(pattern))[:args.images]:
            lab = np.asarray(tifffile.imread(f))
            if lab.ndim != 3 or not np.issubdtype(lab.dtype, np.integer) or not lab.any():
                continue
            lab = lab.astype(np.int32)
            started = time.perf_counter()
            ours = measure_objects(lab[None])
            t_ours = time.perf_counter() - started
            started = time.perf_counter()
            with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
                warnings.simplefilter("ignore")
                ref = regionprops_table(lab, properties=PROPS)
            t_ref = time.perf_counter() - started
            want = np.asarray(ref["solidity"], float)
            want = np.where(np.isfinite(want) & (want <= 1.0 + 1e-9), want, np.nan)
            same = bool(np.array_equal(ours["solidity"].to_numpy(), want, equal_nan=True))
            rows.append({"set": name, "image": f.name, "shape": "x".join(map(str, lab.shape)),
                         "objects": len(ours), "celldyn s": round(t_ours, 2),
                         "scikit-image s": round(t_ref, 2),
                         "speed-up": f"{t_ref / max(t_ours, 1e-9):.1f}x",
                         "solidity identical": "yes" if same else "NO"})
            print(rows[-1], flush=True)
    if not rows:
        print("no 3D label images found under", args.data, file=sys.stderr)
        return 1
    table = markdown_table(rows, list(rows[0]))
    args.json.write_text(json.dumps({"rows": rows}, indent=1))
    print("\n" + table)
    if not args.no_results_md:
        body = ("Written by benchmarks/measure_3d.py. " + " ".join(
            __doc__.split("\n\n")[1].split()) + " Seconds: wall time of one call each, "
            "measure_objects without a movie (no intensity columns), regionprops_table "
            "with the same geometric properties.\n\n" + table)
        write_section(SECTION, body, packages=("numpy", "scipy", "scikit-image"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

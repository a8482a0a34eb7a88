"""Read the annotated sets of ``../shared/data`` part by part, as a split table names them.

A split (``benchmarks/splits.py``, :class:`Split`-like: ``set``, ``unit``, ``train``,
``validation``, ``test``) lists units per part; :func:`load_part` turns one part into
:class:`Item` s (2D image, instance labels, whether the annotation is partial). Layouts
(see the data README): CTC movies (``NN/tTTT.tif`` with ``NN_GT/SEG/man_segTTT.tif``,
stills under ``seg-stills/``), and still-image sets (``images/NAME.tif`` with
``masks/NAME.tif``). Regions are ``NAME[y0:y1,x0:x1]``; ``tAAA-BBB[...]`` is that region
in every frame AAA..BBB. Colour images become grey (mean of the channels); 5-slice
brightfield stacks give their middle slice. In partial CTC annotations (GOWT1, HeLa
nuclei) the TRA markers that overlap no SEG object are grown by ``grow`` pixels and set to
-1, which the training loss ignores (they are nuclei, not background).

Hand-written: this is bookkeeping of our data folders, not a library's job.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["GENERALIST_WEIGHTS", "Item", "PARTIAL_SETS", "SETS_3D", "SETS_SEMANTIC", "load_part",
           "load_split_table", "load_set_part", "median_diameter", "split_samples"]

PARTIAL_SETS = frozenset({"Fluo-N2DH-GOWT1-01", "Fluo-N2DH-GOWT1-02", "Fluo-N2DL-HeLa-01"})
SETS_3D = frozenset({"seg-PlantSeg-3D-nuclei"})
SETS_SEMANTIC = frozenset({"seg-EM-drosophila-vnc-mito"})

_REGION = re.compile(r"^(?P<name>[^\[]+)(?:\[(?P<ys>[^,\]]*),(?P<xs>[^\]]*)\])?$")
_FRAMES = re.compile(r"^t(\d+)-(\d+)$")


@dataclass
class Item:
    """One annotated 2D image (or a region of one), or a 3D volume, or a class map
    (``labels``) with its instances (``instances``)."""

    name: str
    image: np.ndarray
    labels: np.ndarray
    partial: bool = False
    instances: np.ndarray | None = None


def _read(path: Path) -> np.ndarray:
    import tifffile

    return np.asarray(tifffile.imread(path))


def _grey(img: np.ndarray) -> np.ndarray:
    if img.ndim == 3 and img.shape[-1] in (3, 4):       # YXC colour
        return img[..., :3].astype(np.float32).mean(axis=-1)
    if img.ndim == 3:                                     # ZYX brightfield stack
        return img[img.shape[0] // 2]
    return img


def _slice(text: str | None) -> slice:
    if not text or text.strip() == ":":
        return slice(None)
    a, b = (p.strip() for p in text.split(":"))
    return slice(int(a) if a else None, int(b) if b else None)


def _ctc_folder(root: Path, set_name: str) -> str:
    m = re.search(r"-(\d\d)(?:-|$)", set_name)
    return m.group(1) if m else "01"


def _ctc_frame(root: Path, set_name: str, frame: int | str,
               grow: int) -> tuple[np.ndarray, np.ndarray]:
    base = root / set_name
    seq = _ctc_folder(root, set_name)
    if isinstance(frame, str):                 # a still under seg-stills/
        img = _read(base / "seg-stills" / "images" / f"{frame}.tif")
        lab = _read(base / "seg-stills" / "masks" / f"{frame}.tif").astype(np.int32)
        return img, lab
    img = _read(base / seq / f"t{frame:03d}.tif")
    seg = base / f"{seq}_GT" / "SEG" / f"man_seg{frame:03d}.tif"
    lab = _read(seg).astype(np.int32)
    if set_name in PARTIAL_SETS:
        tra = base / f"{seq}_GT" / "TRA" / f"man_track{frame:03d}.tif"
        if tra.is_file():
            lab = _ignore_unannotated(lab, _read(tra), grow)
    return img, lab


def _ignore_unannotated(seg: np.ndarray, tra: np.ndarray, grow: int) -> np.ndarray:
    """-1 on (grown) TRA markers that no SEG object overlaps, outside SEG objects."""
    from scipy import ndimage as ndi

    hit = np.unique(tra[seg > 0])
    missing = (tra > 0) & ~np.isin(tra, hit)
    if not missing.any():
        return seg
    if grow > 0:
        missing = ndi.binary_dilation(missing, iterations=grow)
    out = seg.copy()
    out[missing & (seg == 0)] = -1
    return out


def _units(set_name: str, unit: Any) -> list[tuple[str, Any, slice, slice]]:
    """(display name, frame-or-stem, ys, xs) for one split unit."""
    if isinstance(unit, (int, np.integer)):
        return [(f"t{int(unit):03d}", int(unit), slice(None), slice(None))]
    m = _REGION.match(str(unit))
    if m is None:
        raise ValueError(f"{set_name}: cannot read split unit {unit!r}")
    name, ys, xs = m.group("name"), _slice(m.group("ys")), _slice(m.group("xs"))
    fm = _FRAMES.match(name)
    if fm:
        return [(f"t{t:03d}{'' if m.group('ys') is None else '[' + str(unit).split('[')[1]}",
                 t, ys, xs) for t in range(int(fm.group(1)), int(fm.group(2)) + 1)]
    return [(str(unit), name, ys, xs)]


def load_part(split: Any, part: str, root: str | Path, *, grow: int = 15,
              skip_empty: bool = False) -> list[Item]:
    """The 2D items of `part` ("train", "validation", "test") of one set's `split`."""
    root = Path(root)
    set_name = split.set
    if set_name in SETS_3D or set_name in SETS_SEMANTIC:
        raise ValueError(f"{set_name} is not a 2D instance set")
    base = root / set_name
    out: list[Item] = []
    for unit in getattr(split, part):
        if split.unit == "movie":               # every SEG frame of sequence `unit`
            seq = str(unit)
            frames = sorted(int(p.stem[7:]) for p in (base / f"{seq}_GT" / "SEG").glob(
                "man_seg*.tif"))
            entries = [(f"t{t:03d}", t, slice(None), slice(None)) for t in frames]
        else:
            entries = _units(set_name, unit)
        for name, key, ys, xs in entries:
            if set_name == "nuclei-seg-stardist":
                sub = base / str(key)
                img, lab = _read(sub / "img2d.tif"), _read(sub / "mask2d.tif").astype(np.int32)
            elif (base / "images").is_dir():
                img = _read(base / "images" / f"{key}.tif")
                lab = _read(base / "masks" / f"{key}.tif").astype(np.int32)
            else:
                img, lab = _ctc_frame(root, set_name, key, grow)
            img = _grey(img)
            img, lab = np.ascontiguousarray(img[ys, xs]), np.ascontiguousarray(lab[ys, xs])
            if skip_empty and not (lab > 0).any():
                continue
            out.append(Item(f"{set_name}:{name}", img, lab, set_name in PARTIAL_SETS))
    return out


def load_set_part(split: Any, part: str, root: str | Path) -> list[Item]:
    """The items of `part` of a 3D or semantic set (still images, ``images/NAME.tif``).

    3D sets (:data:`SETS_3D`): each item is a ZYX volume with its instance labels.
    A unit ``NAME[y0:y1,x0:x1]`` is that region of every plane (Python slices).
    Semantic sets (:data:`SETS_SEMANTIC`): ``labels`` is the class map
    (``masks_semantic/NAME.tif``); the instance labels (``masks/NAME.tif``) are in the
    item's ``instances`` attribute, for scoring instances of one class.
    """
    root = Path(root)
    base = root / split.set
    out: list[Item] = []
    for unit in getattr(split, part):
        m = _REGION.match(str(unit))
        if m is None:
            raise ValueError(f"{split.set}: cannot read split unit {unit!r}")
        stem = m.group("name")
        # a region "NAME[y0:y1,x0:x1]" cuts Y and X of every plane (of every z of a volume)
        cut = (Ellipsis, _slice(m.group("ys")), _slice(m.group("xs")))

        def read(folder: str) -> np.ndarray:
            return np.ascontiguousarray(_read(base / folder / f"{stem}.tif")[cut])

        img = read("images")
        if split.set in SETS_SEMANTIC:
            item = Item(f"{split.set}:{unit}", img, read("masks_semantic").astype(np.int32),
                        instances=read("masks").astype(np.int32))
        else:
            item = Item(f"{split.set}:{unit}", img, read("masks").astype(np.int32))
        out.append(item)
    return out


def median_diameter(labels: np.ndarray) -> float | None:
    """Median equivalent diameter (pixels) of the objects in `labels`; None if none."""
    lab = np.where(labels > 0, labels, 0)
    areas = np.bincount(lab.ravel())[1:]
    areas = areas[areas > 0]
    if areas.size == 0:
        return None
    return float(np.sqrt(4 * np.median(areas) / np.pi))


# Share of training crops per set for the generalist (sum 1): nuclei, whole cells and
# bacteria each get about a third, so the 360 DSB2018 images do not drown the 5 DIC frames.
GENERALIST_WEIGHTS: dict[str, float] = {
    "seg-DSB2018-stage1-train-subset": 0.17, "Fluo-N2DH-GOWT1-01": 0.05,
    "Fluo-N2DH-SIM+-01": 0.03, "nuclei-seg-stardist": 0.03, "Fluo-N2DL-HeLa-01": 0.06,
    "DIC-C2DH-HeLa-01": 0.14, "PhC-C2DL-PSC-01": 0.12, "seg-BABY-yeast-brightfield": 0.06,
    "PhC-C2DL-EcoliColony-vanVliet-01": 0.16, "seg-BABY-ecoli-mothermachine": 0.06,
    "seg-colony-ecoli-salmonella-dapi": 0.12,
}


def split_samples(table: dict[str, Any], root: str | Path, part: str, *,
                  target_diameter: float = 30.0, exclude: tuple[str, ...] = (),
                  max_per_set: int | None = None) -> list[Any]:
    """Training/validation :class:`~.train.Sample` s of `part` of every 2D instance set.

    Each image is rescaled so its objects' median diameter (its own ground truth; the
    set's median for an image without objects) becomes `target_diameter`; each set's
    crops share is :data:`GENERALIST_WEIGHTS` (1/n for a set not listed), split evenly
    over its images. `max_per_set` keeps that many images per set, evenly spaced (for a
    quick per-epoch validation). Regions without objects are kept only where the whole
    image is a negative example (empty yeast traps); empty crops of movies are skipped.
    """
    from ..classical import normalize_frame
    from .train import Sample

    out = []
    names = [n for n in table if n not in SETS_3D and n not in SETS_SEMANTIC
             and n not in exclude]
    for set_name in names:
        items = load_part(table[set_name], part, root,
                          skip_empty=set_name != "seg-BABY-yeast-brightfield")
        if not items:
            continue
        if max_per_set is not None and len(items) > max_per_set:
            idx = np.linspace(0, len(items) - 1, max_per_set).round().astype(int)
            items = [items[i] for i in sorted(set(idx.tolist()))]
        diams = [median_diameter(it.labels) for it in items]
        known = [d for d in diams if d]
        set_d = float(np.median(known)) if known else target_diameter
        w = GENERALIST_WEIGHTS.get(set_name, 1.0 / max(1, len(names))) / len(items)
        for it, d in zip(items, diams, strict=True):
            img = normalize_frame(it.image)
            if img is None:
                continue
            out.append(Sample(img, it.labels, zoom=target_diameter / (d or set_d), weight=w,
                              name=it.name, ignore_unannotated=it.partial))
    return out


def load_split_table(path: str | Path) -> dict[str, Any]:
    """The ``SEGMENTATION`` table of a splits file (``benchmarks/splits.py``)."""
    import importlib.util

    from ...errors import InputError

    path = Path(path)
    if not path.is_file():
        raise InputError(f"split file {path} does not exist (use benchmarks/splits.py)")
    spec = importlib.util.spec_from_file_location("_celldyn_splits", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod        # dataclasses look their module up there
    try:
        spec.loader.exec_module(mod)
        table = dict(mod.SEGMENTATION)
    except Exception as err:  # a user's file: one line, not a traceback
        raise InputError(f"cannot read SEGMENTATION from {path}: {err}") from None
    if not table:
        raise InputError(f"{path} has an empty SEGMENTATION table")
    return table


def _split_module_data(path: str | Path) -> Path:
    """``SHARED_DATA`` of a split file, read without importing it twice."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("_celldyn_splits", Path(path))
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return Path(getattr(mod, "SHARED_DATA"))

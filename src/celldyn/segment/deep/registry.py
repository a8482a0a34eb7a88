"""Deep segmentation models: shipped ones by name, trained ones by folder; sha256-checked.

A model folder holds ``weights.pt`` (a PyTorch ``state_dict``, loaded with
``weights_only=True``: nothing is unpickled), ``config.json`` (architecture, axes,
normalisation, working object diameter, training record, sha256 of the weights),
``thresholds.json`` (post-processing levels tuned on validation data) and ``CARD.md``.
Shipped models also have their hash pinned here, so an edited weights file cannot
pass by rewriting its own ``config.json``. Nothing is downloaded.

:func:`segment_movie_deep` is the stage function the pipeline calls.

Semantic models (``config.json`` ``"task": "semantic"``, e.g. ``mito_em``) give a class
map per frame (:meth:`DeepSegmenter.classify`); their instances are the connected
components of the ``instance_class`` (:meth:`DeepSegmenter.segment`), so they track like
any other objects. 3D models record the voxel size they were trained at
(``voxel_size_um``); a movie with another voxel size is resampled to it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ..._weights import sha256_file, verified_weights
from ...errors import InputError, ModelError
from ...movie import Movie
from .inference import segment_image
from .unet import UNet, build_unet

__all__ = ["SHIPPED", "DeepSegmenter", "card_summary", "load_segmenter", "model_folder",
           "probe_alone", "probe_crop", "probe_low_zoom_ok", "probe_zooms_for",
           "save_segmenter", "segment_movie_deep"]

SHIPPED: dict[str, dict[str, str]] = {
    # name: folder under celldyn/models, pinned sha256 of weights.pt
    "nuclei2d": {"folder": "nuclei2d",
                 "sha256": "afe60de2201a3f5d90f8a860b508c6b456510404b2f65e643634c145d4e2c268"},
    "generalist2d": {"folder": "generalist2d",
                     "sha256": "80ba52b3223e6a515f98d70b48b2d3480f49e90723bfd1db1660f0e0e9fc76a3"},
    "nuclei3d": {"folder": "nuclei3d",
                 "sha256": "35a3b6b55102a56068de7cc022e32ea6ce00b384217b343f0d7dfb31d1b49889"},
    "mito_em": {"folder": "mito_em",
                "sha256": "95a8bb1b0c0d1ad6bbdcecb3d93d30cebc2605b30d352d176c93e0cee0da82e7"},
}


def model_folder(name: str) -> Path:
    """Folder of a shipped model."""
    if name not in SHIPPED:
        raise ModelError(f"unknown shipped segmentation model {name!r}; "
                         f"shipped: {sorted(SHIPPED)}")
    return Path(str(resources.files("celldyn") / "models" / SHIPPED[name]["folder"]))


def card_summary(folder: str | Path) -> str:
    """One line about a model folder: its card's title without the ``# Model card:``
    prefix (or config.json's ``architecture_text`` when there is no card)."""
    folder = Path(folder)
    card = folder / "CARD.md"
    if card.is_file():
        for line in card.read_text().splitlines():
            if line.strip():
                return line.lstrip("# ").removeprefix("Model card:").strip()
    try:
        return str(json.loads((folder / "config.json").read_text())
                   .get("architecture_text", ""))
    except (OSError, ValueError):
        return ""


# zooms of the diameter probe: 1/4 to sqrt(2), in quarter octaves
PROBE_ZOOMS = tuple(float(2.0 ** (k / 4)) for k in range(-8, 3))
# post-processing levels the scale probe overrides: objects cut by the crop's edge are
# sizes of pieces, so the small ones are dropped as anywhere (no `min_size_edge`);
# slivers are kept and markers left whole (`min_width_px`, `marker_h` 0), as when those
# levels were chosen. benchmarks/scale_probe.py records the probe with the same levels.
PROBE_THRESHOLDS: dict[str, Any] = {"min_size_edge": None, "min_width_px": 0, "marker_h": 0}


class DeepSegmenter:
    """A loaded model: the network, its config and its post-processing thresholds."""

    def __init__(self, net: UNet, config: dict[str, Any], thresholds: dict[str, Any],
                 name: str = "") -> None:
        self.net = net.eval()
        self.config = config
        self.thresholds = thresholds
        self.name = name

    @property
    def ndim(self) -> int:
        return self.net.ndim

    @property
    def semantic(self) -> bool:
        """A class-map model (``task: semantic``): :meth:`classify` gives the classes."""
        return self.config.get("task") == "semantic"

    @property
    def classes(self) -> list[str]:
        return [str(c) for c in self.config.get("classes", [])]

    @property
    def target_diameter(self) -> float:
        return float(self.config.get("target_diameter", 30.0))

    def zoom_for(self, diameter: float | None) -> float:
        """Rescale factor that brings objects of `diameter` pixels to the working size."""
        if diameter is None:
            return 1.0
        if not np.isfinite(diameter) or diameter <= 0:
            raise InputError(f"diameter must be a positive number of pixels, got {diameter}")
        return self.target_diameter / float(diameter)

    def _check(self, frame: ArrayLike) -> np.ndarray:
        arr = np.asarray(frame)
        if arr.ndim != self.ndim:
            raise InputError(
                f"model {self.name or 'deep'} is {self.ndim}D and needs "
                f"{'YX' if self.ndim == 2 else 'ZYX'} frames; got a frame of shape {arr.shape}"
            )
        return arr

    def _resampling(self, shape: tuple[int, ...],
                    spacing: tuple[float, ...] | None) -> tuple[int, ...] | None:
        """The frame's shape on the model's voxel grid, or None when it is already
        there (within 10 %) or either voxel size is unknown."""
        vox = self.config.get("voxel_size_um")
        if self.ndim != 3 or not vox or spacing is None or len(spacing) != 3:
            return None
        factors = np.asarray(spacing, dtype=float) / np.asarray(vox, dtype=float)
        if np.all(np.abs(factors - 1.0) <= 0.1):
            return None
        return tuple(max(1, round(n * f)) for n, f in zip(shape, factors, strict=True))

    def segment(self, frame: ArrayLike, *, diameter: float | None = None,
                tile: int | None = None, thresholds: dict[str, Any] | None = None,
                spacing: tuple[float, ...] | None = None,
                classes_out: np.ndarray | None = None,
                uncertainty_out: list[float] | None = None,
                tta: int | None = None) -> np.ndarray:
        """int32 instance labels of one frame (YX for 2D models, ZYX for 3D).

        A semantic model's instances are the connected components of its
        ``instance_class`` (at least ``min_size`` pixels); `classes_out` (an array of
        the frame's shape) then receives the class map. `spacing` (µm per axis) of a
        3D frame resamples it to the model's voxel size (``voxel_size_um``) and the
        labels back (nearest neighbour). `uncertainty_out` (a list; 2D instance
        models) receives the frame's class uncertainty
        (:func:`celldyn.segment.deep.inference.class_uncertainty`). `tta` (2D instance
        models; default the config's ``"tta"``, else 1): the maps averaged over that
        many symmetries of the square (:func:`~.inference.segment_image`).
        """
        arr = self._check(frame)
        tta = int(self.config.get("tta", 1) if tta is None else tta)
        th = {**self.thresholds, **(thresholds or {})}
        if self.semantic:
            from .semantic import instances_of_class

            classes = self.classify(arr, diameter=diameter, tile=tile)
            if classes_out is not None:
                classes_out[...] = classes
            return instances_of_class(classes, int(self.config.get("instance_class", 1)),
                                      min_size=int(th.get("min_size", 0)))
        grid = self._resampling(arr.shape, spacing)
        if grid is None:
            return segment_image(self.net, arr, th, zoom=self.zoom_for(diameter), tile=tile,
                                 uncertainty_out=uncertainty_out,
                                 tta=tta if self.ndim == 2 else 1)
        from skimage.transform import resize

        img = resize(arr.astype(np.float32), grid, order=1, preserve_range=True,
                     anti_aliasing=False)
        labels = segment_image(self.net, img, th, zoom=self.zoom_for(diameter), tile=tile)
        return resize(labels, arr.shape, order=0, preserve_range=True,
                      anti_aliasing=False).astype(np.int32)

    def classify(self, frame: ArrayLike, *, diameter: float | None = None,
                 tile: int | None = None) -> np.ndarray:
        """uint8 class map of one frame (semantic models; indices into :attr:`classes`)."""
        if not self.semantic:
            raise ModelError(f"model {self.name} is an instance model; it has no classes")
        from .semantic import predict_classes

        return predict_classes(self.net, self._check(frame), zoom=self.zoom_for(diameter),
                               tile=tile)

    def estimate_diameter(self, frame: ArrayLike, *, tile: int | None = None,
                          zooms: tuple[float, ...] | None = None,
                          crop: int = 512, tolerance: float = 1.2) -> float | None:
        """Typical object diameter (pixels) as the model sees it, by a scale probe.

        The model segments a central crop (at most `crop` pixels square) of `frame` at
        each zoom of `zooms` (ascending) and measures the median equivalent diameter of
        what it finds, in the frame's pixels. Where the zoom suits the objects the
        answer does not depend on the zoom (the network is trained over a range of
        scales); zoomed in too far it cuts objects into pieces of its working size,
        and zoomed out too far it merges them. So the estimate is the median diameter
        over the longest run of consecutive zooms whose diameters agree within a
        factor `tolerance`. Ties go to the run whose objects, as the network saw them,
        come closest to its working diameter (on a 2D frame whose cells are larger
        than the network was trained for, a short run of small fragments can tie the
        run of the true cells: DIC HeLa, 9 px found for 110 px cells). Used alone, the
        closeness to the working size was fooled by the pieces of an
        over-segmentation (benchmarks/RESULTS.md, Segmentation); as a tie-break it
        halved the median size error on the validation parts (0.42 to 0.20 octaves;
        "Segmentation: object size probe"). A zoom at which the crop's short side
        becomes narrower than the working diameter is not run (:func:`probe_zooms_for`):
        the network cannot see one object of its working size across it, and what it
        returns there is not a size (a 47 px mother-machine trench zoomed by 1/4 is 12
        px wide and gave "objects of 105 px"). Returns None when nothing is found.
        A model's ``probe_lone_min_objects`` lets a single zoom outside its
        ``probe_core_zooms`` (the range probed before 2026-12-06, 1/4 to 2) be the
        plateau by itself only where it found at least that many objects
        (:func:`probe_alone`; an empty yeast trap: zoom 4 alone found 1 to 5 specks of
        texture, 4-6 px, and the whole image was then cut into them), and a run made
        only of zooms below the core be the plateau only where every one of them found
        that many: zoomed out that far, a dense colony of small objects becomes a few
        blobs of clusters whose size agrees from zoom to zoom (a 572 x 1752 px DAPI
        colony of 17 px rods, probed at 180 px from 9 and 6 blobs, and segmented into
        11 objects; a DSB2018 validation image of 20 px nuclei, 127 px).
        `zooms` default: the model's ``probe_zooms`` and ``probe_crop`` (config.json),
        else :data:`PROBE_ZOOMS` and `crop`. A model's ``probe_max_input`` and
        ``probe_min_input`` bound the side of what the network sees
        (:func:`probe_crop`): zooms above ``probe_max_input / crop`` probe a smaller
        central crop, zooms below ``probe_min_input / crop`` a larger one.
        """
        if zooms is None:
            zooms = tuple(float(z) for z in self.config.get("probe_zooms", PROBE_ZOOMS))
            crop = int(self.config.get("probe_crop", crop))
        arr = np.asarray(frame)
        if arr.ndim != 2:
            return None
        zooms = sorted(zooms)
        max_input = self.config.get("probe_max_input")
        min_input = self.config.get("probe_min_input")
        lone = self.config.get("probe_lone_min_objects")
        core = self.config.get("probe_core_zooms", (0.0, float("inf")))
        found: list[float] = []
        counts: list[int] = []
        for z in zooms:
            sub = probe_crop(arr, crop, z, max_input, min_input)
            if not (probe_zooms_for(sub.shape, [z], self.target_diameter)[0]
                    and probe_low_zoom_ok(sub.shape, z, crop, min_input)):
                found.append(float("nan"))
                counts.append(0)
                continue
            labels = self.segment(sub, diameter=self.target_diameter / z, tile=tile,
                                  thresholds=PROBE_THRESHOLDS)
            areas = np.bincount(labels.ravel())[1:]
            areas = areas[areas > 0]
            found.append(float(np.sqrt(4 * np.median(areas) / np.pi)) if areas.size
                         else float("nan"))
            counts.append(int(areas.size))
        below = enough = None
        if lone is not None:
            below = np.asarray(zooms) < float(core[0]) - 1e-9
            enough = np.asarray(counts) >= int(lone)
        return _plateau(np.asarray(found), tolerance,
                        seen=np.asarray(zooms) / self.target_diameter,
                        alone=None if lone is None else probe_alone(zooms, counts, core,
                                                                     int(lone)),
                        below=below, enough=enough)


def probe_crop(frame: np.ndarray, crop: int, zoom: float,
               max_input: float | None = None,
               min_input: float | None = None) -> np.ndarray:
    """The central square of `frame` that the scale probe segments at `zoom`: at most
    `crop` pixels a side, except that with `max_input` its side is at most
    ``max_input / zoom`` (the network never sees more than `max_input` px a side: the
    high zooms that find small objects stay cheap, and small objects are many in a
    smaller crop) and with `min_input` at least ``min_input / zoom`` (the low zooms that
    find large objects see a wider field, so that more than a few whole objects fit).

    >>> probe_crop(np.zeros((900, 300)), 512, 4.0, 1024).shape
    (256, 256)
    >>> probe_crop(np.zeros((900, 300)), 512, 1.0, 1024, 128).shape
    (512, 300)
    >>> probe_crop(np.zeros((2000, 2000)), 512, 0.125, 1024, 128).shape
    (1024, 1024)
    """
    side = int(crop)
    if max_input:
        side = min(side, int(np.ceil(float(max_input) / float(zoom))))
    if min_input:
        side = max(side, int(np.ceil(float(min_input) / float(zoom))))
    ny, nx = frame.shape[-2:]
    cy, cx = max(0, (ny - side) // 2), max(0, (nx - side) // 2)
    return frame[..., cy:cy + side, cx:cx + side]


def probe_alone(zooms: Sequence[float], counts: Sequence[int],
                core: Sequence[float], lone_min: int) -> np.ndarray:
    """Per zoom, whether its size may be the probe's plateau by itself: inside the core
    zooms always (as before the outer zooms were added), outside them only where it
    found at least `lone_min` objects (specks of texture at a high zoom on an empty
    frame are few; small objects are many).

    >>> probe_alone([0.25, 1.0, 4.0, 4.0], [1, 1, 3, 40], (0.25, 2.0), 8).tolist()
    [True, True, False, True]
    """
    z = np.asarray(zooms, float)
    inside = (z >= float(core[0]) - 1e-9) & (z <= float(core[1]) + 1e-9)
    return inside | (np.asarray(counts) >= int(lone_min))


def probe_low_zoom_ok(shape: tuple[int, ...], zoom: float, crop: int,
                      min_input: float | None) -> bool:
    """Whether a low zoom, one whose crop `probe_crop` grows to give the network
    `min_input` px, gets at least half of that from a frame whose probed crop has
    `shape`. Zoomed out that far on a small frame, the network sees a few dozen pixels
    and returns clusters merged into blobs whose size agrees from zoom to zoom, which
    the plateau takes for the objects (a 256 x 320 px DSB2018 validation image of 20 px
    nuclei: 153 px). Zooms whose crop is not grown always pass.

    >>> probe_low_zoom_ok((256, 320), 0.125, 512, 128), probe_low_zoom_ok((512, 512), 0.125, 512, 128)
    (False, True)
    >>> probe_low_zoom_ok((81, 81), 0.25, 512, 128)
    True
    """
    if not min_input or zoom * crop >= float(min_input):
        return True
    return float(min(shape[-2:])) * zoom >= float(min_input) / 2


def probe_zooms_for(shape: tuple[int, ...], zooms: Sequence[float],
                    working_diameter: float) -> list[bool]:
    """Per zoom, whether a probe crop of `shape` is wide enough to be probed at it:
    its short side, zoomed, must hold one object of the network's working diameter.

    >>> probe_zooms_for((512, 47), [0.25, 0.5, 0.7071, 1.0], 30.0)
    [False, False, True, True]
    """
    side = float(min(shape[-2:]))
    return [side * float(z) >= working_diameter for z in zooms]


def _plateau(values: np.ndarray, tolerance: float,
             seen: np.ndarray | None = None,
             alone: np.ndarray | None = None,
             below: np.ndarray | None = None,
             enough: np.ndarray | None = None, enough_ties: bool = False) -> float | None:
    """Median of the longest run of consecutive finite `values` within a factor
    `tolerance` of each other; None if none is finite. With `alone` (per value), a
    value may form a run by itself only where `alone` is true. With `below` and
    `enough` (per value), a run made only of `below` values counts only where every
    one of them is `enough`.

    Ties: with `seen` (per value, the factor that turns it into the size the network
    saw, relative to its working size: zoom / working diameter), the run whose median
    seen size is closest to 1 (in log); without it, the last run. With `enough_ties`
    (tried 2026-12-08, not adopted: off in the probe), the runs in which every value is
    `enough` come first: it mended a DSB2018 validation image of 10 px nuclei, probed at
    90 px from a run of 2 blobs per zoom, but cut small yeast trap images of a few
    cells into fragments (a test image: 22 px cells probed at 6 px), where only the
    high zooms find 8 objects ("Segmentation: object size probe").

    >>> _plateau(np.array([70.0, 52, 50, 53, 51, 30, 20]), 1.2)
    51.5
    >>> zooms = np.array([0.25, 0.5, 1, 2])       # working diameter 30 px
    >>> _plateau(np.array([115.0, 105, 9.5, 8.2]), 1.2, seen=zooms / 30)
    110.0
    >>> lone = np.array([np.nan, np.nan, np.nan, 3.6])
    >>> _plateau(lone, 1.2) == 3.6, _plateau(lone, 1.2, alone=np.array([1, 1, 1, 0])) is None
    (True, True)
    >>> zooms = 2.0 ** (np.arange(-6, 5) / 2)                   # 1/8 ... 4
    >>> found = np.array([179.8, 180.6, 91.4, 86.0, 41.8, 26.7, 18.7, 16.2, 15.3,
    ...                   12.8, 9.2])                   # a dense colony of 17 px rods
    >>> low = zooms < 0.25
    >>> many = np.array([9, 6, 8, 14, 26, 65, 356, 469, 286, 161, 79]) >= 8
    >>> _plateau(found, 1.2, seen=zooms / 30), _plateau(found, 1.2, seen=zooms / 30,
    ...                                                 below=low, enough=many)
    (180.2, 14.05)
    >>> found = np.array([84.6, 95.3, 30.2, 23.7, 19.1, 13.6, 12.0, 10.2, 9.4])
    >>> counts = np.array([2, 2, 7, 7, 11, 23, 26, 33, 24])     # 10 px nuclei
    >>> zooms = 2.0 ** (np.arange(-4, 5) / 2)                   # 1/4 ... 4
    >>> round(_plateau(found, 1.2, seen=zooms / 30), 2), _plateau(
    ...     found, 1.2, seen=zooms / 30, enough=counts >= 8, enough_ties=True)
    (89.95, 9.8)
    """
    runs: list[tuple[int, int]] = []
    n = len(values)
    for a in range(n):
        if not np.isfinite(values[a]):
            continue
        b = a
        while (b + 1 < n and np.isfinite(values[b + 1])
               and values[a:b + 2].max() <= tolerance * values[a:b + 2].min()):
            b += 1
        if (b > a or alone is None or alone[a]) and not (
                below is not None and enough is not None and below[a:b + 1].all()
                and not np.all(enough[a:b + 1])):
            runs.append((a, b))
    if not runs:
        return None
    longest = max(b - a for a, b in runs)
    tied = [(a, b) for a, b in runs if b - a == longest]
    if enough is not None and enough_ties:
        tied = [ab for ab in tied if np.all(enough[ab[0]:ab[1] + 1])] or tied
    if seen is None:
        a, b = tied[-1]
    else:
        a, b = min(tied, key=lambda ab: abs(np.log(np.median(
            values[ab[0]:ab[1] + 1] * seen[ab[0]:ab[1] + 1]))))
    return float(np.median(values[a:b + 1]))


def load_segmenter(name: str | Path = "generalist2d") -> DeepSegmenter:
    """Load a deep segmentation model by shipped name or folder path.

    Raises
    ------
    ModelError
        Unknown name, missing folder or file, or weights whose sha256 differs from the
        one recorded (pinned here for shipped models, in ``config.json`` otherwise).
    """
    import torch

    pinned = None
    if isinstance(name, str) and name in SHIPPED:
        folder = model_folder(name)
        pinned = SHIPPED[name]["sha256"]
    else:
        folder = Path(name)
        if not (folder / "config.json").is_file():
            raise ModelError(
                f"unknown segmentation model {str(name)!r}: not one of {sorted(SHIPPED)} "
                "and not a folder with config.json (train one with: celldyn train segment)"
            )
    try:
        config = json.loads((folder / "config.json").read_text())
        thresholds = json.loads((folder / "thresholds.json").read_text())
    except (OSError, ValueError) as err:
        raise ModelError(f"model folder {folder} cannot be read ({err})") from None
    _check_probe(config, folder)
    _check_thresholds(thresholds, folder)
    wfile = verified_weights(
        folder / str(config.get("weights", "weights.pt")), pinned or config.get("sha256")
    )
    net = build_unet(config["architecture"])
    net.load_state_dict(torch.load(wfile, weights_only=True))
    return DeepSegmenter(net, config, thresholds, name=str(name))


def _check_probe(config: dict[str, Any], folder: Path) -> None:
    """A one-line ModelError for a hand-edited config.json whose scale-probe keys are
    not what the probe reads (numbers; a list of positive zooms; two core zooms)."""
    def bad(key: str, want: str) -> ModelError:
        return ModelError(f"{folder / 'config.json'}: {key} must be {want} "
                          f"(got {config[key]!r})")

    for key in ("probe_crop", "probe_max_input", "probe_min_input",
                "probe_lone_min_objects"):
        v = config.get(key)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int | float)
                              or v <= 0):
            raise bad(key, "a positive number")
    for key, n in (("probe_zooms", None), ("probe_core_zooms", 2)):
        v = config.get(key)
        if v is None:
            continue
        if (not isinstance(v, list | tuple) or not v or (n and len(v) != n)
                or not all(isinstance(z, int | float) and not isinstance(z, bool) and z > 0
                           for z in v)):
            raise bad(key, f"a list of {n or 'one or more'} positive numbers")


def _check_thresholds(thresholds: Any, folder: Path) -> None:
    """A one-line ModelError for a hand-edited thresholds.json that is not an object of
    numbers (``min_size_edge`` may be null: the same as ``min_size``)."""
    where = folder / "thresholds.json"
    if not isinstance(thresholds, dict):
        raise ModelError(f"{where}: must be a JSON object of post-processing levels "
                         f"(got {type(thresholds).__name__})")
    for key, v in thresholds.items():
        if v is None and key == "min_size_edge":
            continue
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise ModelError(f"{where}: {key} must be a number (got {v!r})")


def save_segmenter(folder: str | Path, net: UNet, config: dict[str, Any],
                   thresholds: dict[str, Any], card: str | None = None) -> str:
    """Write a model folder (weights.pt, config.json, thresholds.json, CARD.md).

    Returns the sha256 of ``weights.pt`` (also stored in config.json).
    """
    import torch

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().clone().contiguous() for k, v in net.state_dict().items()}
    tmp = folder / "weights.pt.tmp"
    torch.save(state, tmp)
    tmp.replace(folder / "weights.pt")
    digest = sha256_file(folder / "weights.pt")
    config = {**config, "architecture": net.config(), "weights": "weights.pt",
              "sha256": digest}
    for fname, obj in (("config.json", config), ("thresholds.json", thresholds)):
        t = folder / (fname + ".tmp")
        t.write_text(json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")
        t.replace(folder / fname)
    if card is not None:
        (folder / "CARD.md").write_text(card)
    return digest


def segment_movie_deep(
    movie_or_array: Movie | ArrayLike,
    *,
    model: str | Path | DeepSegmenter = "generalist2d",
    progress: bool | type = False,
    spacing: tuple[float, ...] | None = None,
    diameter: float | str | None = "auto",
    tile: int | None = None,
    thresholds: dict[str, Any] | None = None,
    tta: int | None = None,
) -> np.ndarray:
    """Segment every frame of a movie with a deep model.

    Parameters
    ----------
    movie_or_array : Movie or (T, [Z,] Y, X) array
        Single channel; an array is ``TYX`` when 3D and ``TZYX`` when 4D.
    model : str, path or DeepSegmenter
        Shipped name (default ``generalist2d``) or a folder from ``celldyn train segment``.
    progress : bool or tqdm-like class
    spacing : tuple of float, optional
        Pixel size per spatial axis (µm; default: the Movie's). A 3D model resamples
        each stack to its training voxel size (anisotropy); 2D models work in pixels
        (use `diameter` for object size) and ignore it.
    diameter : float, "auto" or None
        Typical object diameter in pixels (Y/X). ``"auto"`` (default) estimates it once
        per movie on its middle frame (:meth:`DeepSegmenter.estimate_diameter`, a
        probe at zooms 1/4 to 1.4); None runs at the native scale.
    tile : int
        Largest tile side for inference (default: 1280 px in 2D, 512 in 3D); memory is
        bounded by one tile.
    thresholds : dict, optional
        Override ``thresholds.json`` entries (``fg_threshold``, ``marker_threshold``,
        ``min_size``).
    tta : int, optional
        Test-time augmentation: the maps averaged over this many of the eight
        symmetries of the square (1 to 8; that many times the network's time); default
        the model's config (``"tta"``, else 1). 2D instance models.

    Returns
    -------
    (T, [Z,] Y, X) int32 labels, ids per frame (not tracked).
    """
    seg = model if isinstance(model, DeepSegmenter) else load_segmenter(model)
    if isinstance(movie_or_array, Movie):
        if "C" in movie_or_array.axes:
            raise InputError(
                f"segment_movie_deep needs a single-channel movie; got axes "
                f"{movie_or_array.axes!r}; pass movie.channel(i)")
        data = movie_or_array.data
        spacing = movie_or_array.spacing if spacing is None else spacing
    else:
        data = movie_or_array if hasattr(movie_or_array, "ndim") else np.asarray(movie_or_array)
    if data.ndim != seg.ndim + 1:
        raise InputError(
            f"model {seg.name} is {seg.ndim}D: the movie must have axes "
            f"{'TYX' if seg.ndim == 2 else 'TZYX'}; got shape {tuple(data.shape)}")
    if isinstance(diameter, str):
        if diameter != "auto":
            raise InputError(f"diameter must be a number, 'auto' or None; got {diameter!r}")
        from ..._frames import reference_frame

        diameter = (seg.estimate_diameter(np.asarray(data[reference_frame(data)]), tile=tile)
                    if seg.ndim == 2 and not seg.semantic else None)
    from ..._frames import map_frames

    return map_frames(
        lambda frame: seg.segment(frame, diameter=diameter, tile=tile,
                                  thresholds=thresholds, spacing=spacing, tta=tta),
        data, progress=progress, desc=f"segment (deep {seg.name})",
    )

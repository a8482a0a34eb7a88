"""The dock widget: run celldyn on an image layer, inspect objects, correct, save.

Collects the layer and the choices, calls :func:`celldyn.pipeline.run` in a worker
thread (:func:`napari.qt.threading.thread_worker`, a progress bar in the viewer) and
adds the layers of :func:`._layers.run_layers`. A click on the labels shows the
object's track id, lineage, class and the features behind it
(:meth:`._layers.RunView.describe_object`). User mistakes are one-line notifications.

The active-learning loop (:mod:`celldyn.active`): "Annotate next" proposes crops of
the image layer with the deep model (:func:`celldyn.active.propose_crops`, in a
worker), writes them to a round folder (:func:`~celldyn.active.write_proposals`) and
shows each crop with its prediction as an editable labels layer; "Retrain" saves the
edited labels into the folders (:func:`~celldyn.active.write_corrected_labels`) and
fine-tunes on every round so far (:func:`~celldyn.active.fine_tune`, in a worker, one
status line per epoch); the new model becomes the widget's model; "Rerun" runs the
pipeline with it.
"""

from __future__ import annotations

import logging
from collections.abc import Generator
from pathlib import Path
from typing import Any

import numpy as np
from napari.layers import Image, Labels, Layer
from napari.qt.threading import thread_worker
from napari.utils.notifications import show_error, show_info
from qtpy.QtCore import QObject, Signal
from qtpy.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..active import DEFAULT_MODEL as ACTIVE_DEFAULT_MODEL
from ..classify.registry import SHIPPED
from ..config import TRACKERS, RunConfig
from ..errors import CelldynError
from ..segment.classical import METHODS
from ._layers import RunView, run_layers, view_of_result
from ._writer import save_labels_to_run

__all__ = ["CelldynWidget", "annotate_steps", "retrain_steps", "run_steps"]

log = logging.getLogger(__name__)
CROP_KEY = "celldyn_crop"  # layer metadata of an active-learning crop: (folder, name)

SEGMENTERS = ["auto", *METHODS, "deep"]  # the automatic choice, classical methods, U-Net
CLASSIFIERS = ["none", *(k for k in SHIPPED if not k.endswith("-cnn"))]


def run_steps(data: Any, *, spacing: Any, config: RunConfig, name: str
              ) -> Generator[str, None, RunView]:
    """The widget's work, off the GUI thread: yields a step name, returns the run."""
    from ..pipeline import run

    axes = {3: "TYX", 4: "TZYX"}.get(np.ndim(data))
    if axes is None:
        raise CelldynError(f"the image layer must be a movie with axes TYX or TZYX; got "
                           f"{np.ndim(data)} dimensions (shape {np.shape(data)})")
    yield "segment, measure, track"
    result = run(np.asarray(data), axes=axes, config=config, pixel_size=spacing)
    yield "layers"
    return view_of_result(result, name=name)


def annotate_steps(data: Any, *, folder: Path, model: str, n: int, crop: int,
                   exclude: list[tuple[int, int, int, int, int]], dark_objects: bool,
                   source: str) -> Generator[str, None, tuple[Path, list[Any]]]:
    """"Annotate next", off the GUI thread: propose crops, write the round folder."""
    from .._optional import require_torch
    from ..active import propose_crops, write_proposals

    require_torch("annotate next")
    if np.ndim(data) != 3:
        raise CelldynError(f"annotate next needs a 2D movie (axes TYX); the image layer "
                           f"has shape {np.shape(data)}")
    yield "propose crops"
    proposals, info = propose_crops(np.asarray(data), model=model, n=n, crop=crop,
                                    exclude=exclude, dark_objects=dark_objects)
    yield "write"
    write_proposals(folder, proposals, info, source=source)
    return folder, proposals


def retrain_steps(folders: list[Path], *, epochs: int, iters: int, crop: int,
                  report: Any = None) -> Generator[str, None, Path]:
    """"Retrain", off the GUI thread: fine-tune on every round so far."""
    from .._optional import require_torch
    from ..active import fine_tune

    require_torch("retrain")
    yield "fine-tune"
    def on_epoch(rec: dict[str, float]) -> None:
        if report is not None:
            report(f"epoch {int(rec['epoch']) + 1}/{epochs}: loss {rec['loss']:.4f}")
    return fine_tune(folders, epochs=epochs, iters=iters, crop=crop, on_epoch=on_epoch)


class _Relay(QObject):
    """Carries status lines from a worker thread to the GUI thread."""

    message = Signal(str)


class CelldynWidget(QWidget):
    """Segment, track and classify the current image layer; inspect and correct."""

    def __init__(self, napari_viewer: Any) -> None:
        super().__init__()
        self.viewer = napari_viewer
        self.view: RunView | None = None
        self.labels_layer: Labels | None = None
        self.worker: Any = None
        self.selected: tuple[int, int] | None = None

        self.segmenter = QComboBox()
        self.segmenter.addItems(SEGMENTERS)
        self.dark = QCheckBox("dark objects (phase contrast)")
        self.tracker = QComboBox()
        self.tracker.addItems(list(TRACKERS))
        self.classifier = QComboBox()
        self.classifier.addItems(CLASSIFIERS)
        defaults = RunConfig()  # the library's defaults, as `celldyn run` has them
        self.segmenter.setCurrentText(defaults.method if defaults.segmenter == "classical"
                                      else defaults.segmenter)
        self.tracker.setCurrentText(defaults.tracker)
        self.run_button = QPushButton("Run on the current image layer")
        self.run_button.clicked.connect(self.run)
        form = QFormLayout()
        form.addRow("segmenter", self.segmenter)
        form.addRow("", self.dark)
        form.addRow("tracker", self.tracker)
        form.addRow("classifier", self.classifier)

        self.info = QLabel("click an object of a celldyn labels layer")
        self.info.setWordWrap(True)
        self.table = QTableWidget()
        self.class_name = QLineEdit()
        self.class_name.setPlaceholderText("class of the clicked object")
        self.annotate_button = QPushButton("Set class")
        self.annotate_button.clicked.connect(lambda: self.annotate(self.class_name.text()))
        row = QHBoxLayout()
        row.addWidget(self.class_name)
        row.addWidget(self.annotate_button)
        self.save_labels_button = QPushButton("Save corrected labels into a run folder")
        self.save_labels_button.clicked.connect(lambda: self.save_labels())
        self.save_classes_button = QPushButton("Save class annotations (CSV)")
        self.save_classes_button.clicked.connect(lambda: self.save_annotations())

        # active learning
        self.model = QLineEdit(defaults.model or "")
        self.model.setToolTip("deep model: a shipped name or a model folder")
        self.al_n = QSpinBox()
        self.al_n.setRange(1, 50)
        self.al_n.setValue(4)
        self.al_crop = QSpinBox()
        self.al_crop.setRange(16, 2048)
        self.al_crop.setValue(128)
        self.al_epochs = QSpinBox()
        self.al_epochs.setRange(1, 1000)
        self.al_epochs.setValue(10)     # celldyn train segment's defaults (active.fine_tune)
        self.al_iters = QSpinBox()
        self.al_iters.setRange(1, 10000)
        self.al_iters.setValue(50)
        self.al_folder = QLineEdit()
        self.al_folder.setPlaceholderText("round folder [default: next to the run]")
        browse = QPushButton("...")
        browse.clicked.connect(self._pick_folder)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.al_folder)
        folder_row.addWidget(browse)
        self.annotate_next_button = QPushButton("Annotate next")
        self.annotate_next_button.clicked.connect(lambda: self.annotate_next())
        self.retrain_button = QPushButton("Retrain")
        self.retrain_button.clicked.connect(lambda: self.retrain())
        self.rerun_button = QPushButton("Rerun")
        self.rerun_button.clicked.connect(lambda: self.rerun())
        al_buttons = QHBoxLayout()
        for b in (self.annotate_next_button, self.retrain_button, self.rerun_button):
            al_buttons.addWidget(b)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self._relay = _Relay()
        self._relay.message.connect(self.status.setText)
        self.al_folders: list[Path] = []
        self.al_done: list[tuple[int, int, int, int, int]] = []  # crops of earlier rounds
        self.al_movie: Image | None = None  # the image layer the crops came from
        al = QFormLayout()
        al.addRow("deep model", self.model)
        al.addRow("crops", self.al_n)
        al.addRow("crop size (px)", self.al_crop)
        al.addRow("epochs", self.al_epochs)
        al.addRow("iterations / epoch", self.al_iters)
        al.addRow("round folder", folder_row)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.run_button)
        layout.addWidget(self.info)
        layout.addWidget(self.table)
        layout.addLayout(row)
        layout.addWidget(self.save_labels_button)
        layout.addWidget(self.save_classes_button)
        layout.addWidget(QLabel("<b>active learning</b>"))
        layout.addLayout(al)
        layout.addLayout(al_buttons)
        layout.addWidget(self.status)
        self.viewer.dims.events.current_step.connect(self._show_table)
        self.viewer.layers.events.inserted.connect(self._adopt)
        for layer in self.viewer.layers:
            self._adopt(layer=layer)

    # -- running ---------------------------------------------------------------
    def config(self) -> RunConfig:
        """The :class:`RunConfig` of the current choices (ConfigError when invalid)."""
        seg = self.segmenter.currentText()
        cls = self.classifier.currentText()
        return RunConfig(
            segmenter=seg if seg in ("auto", "deep") else "classical",
            method="watershed" if seg in ("auto", "deep") else seg,
            model=self.model.text().strip() or RunConfig().model,
            dark_objects=self.dark.isChecked(), tracker=self.tracker.currentText(),
            classifier=None if cls == "none" else cls)

    def _image(self) -> Image:
        """The selected image layer, else the last one (never an active-learning crop)."""
        layer = self.viewer.layers.selection.active
        if not isinstance(layer, Image) or CROP_KEY in layer.metadata:
            images = [ly for ly in self.viewer.layers
                      if isinstance(ly, Image) and CROP_KEY not in ly.metadata]
            if not images:
                raise CelldynError("open a movie first: there is no image layer")
            layer = images[-1]
        return layer

    def run(self, layer: Image | None = None) -> Any:
        """Start the pipeline on `layer` (default: the selected or last image layer) in a
        worker thread; returns the worker (None after a one-line error)."""
        try:
            layer = layer if layer is not None else self._image()
            config = self.config()
        except CelldynError as err:
            show_error(str(err))
            return None
        scale = [float(s) for s in layer.scale[1:]]
        spacing = None if all(s == 1.0 for s in scale) else scale
        worker = thread_worker(run_steps, progress={"total": 2, "desc": "celldyn"},
                               ignore_errors=True)(  # _failed shows or re-raises them
            layer.data, spacing=spacing, config=config, name=layer.name)
        worker.returned.connect(self._add_run)
        worker.errored.connect(self._failed)
        worker.finished.connect(lambda: self.run_button.setEnabled(True))
        self.run_button.setEnabled(False)
        self.worker = worker
        worker.start()
        return worker

    def _failed(self, err: Exception) -> None:
        if isinstance(err, CelldynError):
            self.status.setText(str(err))
            show_error(str(err))
        else:  # a bug: keep the traceback
            raise err

    def _al_failed(self, err: Exception) -> None:
        """Active-learning workers: one line in the widget, never a traceback (a bug's
        traceback goes to the log)."""
        if not isinstance(err, CelldynError):
            log.error("celldyn active learning failed", exc_info=err)
        lines = str(err).strip().splitlines() or [""]
        text = lines[0] if isinstance(err, CelldynError) else \
            f"{type(err).__name__}: {lines[0]}"
        self.status.setText(text)
        show_error(text)

    def _al_busy(self, busy: bool) -> None:
        for b in (self.annotate_next_button, self.retrain_button, self.rerun_button):
            b.setEnabled(not busy)

    def _add_run(self, view: RunView) -> None:
        for data, kwargs, kind in run_layers(view):
            if kind != "image":  # the movie is already shown
                self.viewer.add_layer(Layer.create(data, kwargs, kind))
        show_info(f"celldyn: {len(view.objects)} objects in {len(view.tracks)} tracks")

    def _adopt(self, event: Any = None, layer: Any = None) -> None:
        """Follow a celldyn labels layer (from the widget or the reader)."""
        layer = layer if layer is not None else event.value
        view = layer.metadata.get("celldyn") if isinstance(layer, Labels) else None
        if isinstance(view, RunView):
            self.view, self.labels_layer = view, layer
            layer.mouse_drag_callbacks.append(self._clicked)
            self._show_table()

    # -- active learning ---------------------------------------------------------
    def _pick_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Parent of the round folder",
                                                  str(self._al_parent()))
        if folder:
            self.al_folder.setText(str(Path(folder) / "round01"))

    def _al_parent(self, layer: Any = None) -> Path:
        if self.view is not None and self.view.folder is not None:
            return Path(self.view.folder).resolve().parent
        path = getattr(getattr(layer, "source", None), "path", None)
        return Path(path).resolve().parent if path else Path.cwd()

    def _next_round(self, layer: Image) -> Path:
        typed = self.al_folder.text().strip()
        if typed and not Path(typed).exists():
            return Path(typed).resolve()
        base = Path(typed).resolve().parent if typed else \
            self._al_parent(layer) / f"{layer.name}_annotate"
        k = 1
        while (base / f"round{k:02d}").exists():
            k += 1
        return base / f"round{k:02d}"

    def annotate_next(self) -> Any:
        """Propose crops of the image layer in a worker, write them to the next round
        folder and show each crop + its prediction (editable); returns the worker."""
        try:
            layer = self._image()
        except CelldynError as err:
            self._al_failed(err)
            return None
        folder = self._next_round(layer)
        self.al_folder.setText(str(folder))
        model = self.model.text().strip() or ACTIVE_DEFAULT_MODEL
        if Path(model).exists():
            model = str(Path(model).resolve())
        path = getattr(layer.source, "path", None)
        worker = thread_worker(annotate_steps, progress={"total": 2, "desc": "annotate"},
                               ignore_errors=True)(
            layer.data, folder=folder, model=model, n=self.al_n.value(),
            crop=self.al_crop.value(), exclude=list(self.al_done),
            dark_objects=self.dark.isChecked(), source=str(path or layer.name))
        worker.returned.connect(lambda got: self._add_crops(*got, layer=layer))
        return self._start_al(worker, f"proposing {self.al_n.value()} crops ...")

    def _start_al(self, worker: Any, text: str) -> Any:
        worker.errored.connect(self._al_failed)
        worker.finished.connect(lambda: self._al_busy(False))
        self._al_busy(True)
        self.status.setText(text)
        self.worker = worker
        worker.start()
        return worker

    def _add_crops(self, folder: Path, proposals: list[Any], layer: Image) -> None:
        self.al_folders.append(Path(folder))
        self.al_movie = layer
        scale = tuple(layer.scale[1:])
        for p in proposals:
            self.al_done.append((p.frame, *p.box))
            meta = {CROP_KEY: (Path(folder), p.name)}
            translate = tuple(b * s for b, s in zip(p.box[:2], scale, strict=True))
            self.viewer.add_image(p.image, name=p.name, scale=scale, translate=translate,
                                  metadata=dict(meta))
            self.viewer.add_labels(p.labels.astype(np.int32), name=f"{p.name} labels",
                                   scale=scale, translate=translate, metadata=dict(meta))
        self.status.setText(f"{len(proposals)} crops in {folder}: correct their labels "
                            "layers, then Retrain")

    def crop_layers(self) -> list[Labels]:
        """The labels layers of the proposed crops still in the viewer."""
        return [ly for ly in self.viewer.layers
                if isinstance(ly, Labels) and CROP_KEY in ly.metadata]

    def retrain(self) -> Any:
        """Save the edited crop labels into their folders and fine-tune the model on
        every round so far in a worker; the new model becomes the widget's model."""
        from ..active import write_corrected_labels

        if not self.al_folders:
            self._al_failed(CelldynError("annotate next first: no proposed crops yet"))
            return None
        try:
            by_folder: dict[Path, dict[str, Any]] = {}
            for ly in self.crop_layers():
                folder, name = ly.metadata[CROP_KEY]
                by_folder.setdefault(Path(folder), {})[name] = np.asarray(ly.data)
            for folder, labels in by_folder.items():
                write_corrected_labels(folder, labels)
        except CelldynError as err:
            self._al_failed(err)
            return None
        epochs = self.al_epochs.value()
        crop = max(16, min(96, self.al_crop.value() // 16 * 16))
        worker = thread_worker(retrain_steps, progress={"total": 1, "desc": "retrain"},
                               ignore_errors=True)(
            list(self.al_folders), epochs=epochs, iters=self.al_iters.value(), crop=crop,
            report=self._relay.message.emit)
        worker.returned.connect(self._use_model)
        return self._start_al(worker, f"fine-tuning for {epochs} epochs ...")

    def _use_model(self, folder: Path) -> None:
        self.model.setText(str(folder))
        self.segmenter.setCurrentText("deep")
        self.status.setText(f"new model {folder}: Rerun to apply it")

    def rerun(self) -> Any:
        """Run the pipeline with the (new) deep model; returns the worker."""
        self.segmenter.setCurrentText("deep")
        movie = self.al_movie if self.al_movie in self.viewer.layers else None
        return self.run(movie)

    # -- inspecting --------------------------------------------------------------
    def _clicked(self, layer: Labels, event: Any) -> None:
        value = layer.get_value(event.position, world=True)
        if value is not None and event.type == "mouse_press" and layer.mode == "pan_zoom":
            t = int(self.viewer.dims.current_step[0])
            self.select(t, int(value))

    def select(self, t: int, label: int) -> str:
        """Show object (t, label): track id, lineage, class and explanation."""
        if self.view is None:
            return ""
        self.selected = (t, label)
        try:
            text = self.view.describe_object(t, label)
        except CelldynError as err:
            text = f"t={t}, label {label}: {err}"
        self.info.setText(text)
        return text

    def _show_table(self, event: Any = None) -> None:
        if self.view is None:
            return
        frame = self.view.frame_objects(int(self.viewer.dims.current_step[0]))
        self.table.setRowCount(len(frame))
        self.table.setColumnCount(len(frame.columns))
        self.table.setHorizontalHeaderLabels(list(frame.columns))
        for i, values in enumerate(frame.itertuples(index=False)):
            for j, v in enumerate(values):
                text = f"{v:.3g}" if isinstance(v, float) else str(v)
                self.table.setItem(i, j, QTableWidgetItem(text))

    # -- correcting --------------------------------------------------------------
    def annotate(self, cls: str) -> None:
        """Give the selected object the class `cls` (saved by :meth:`save_annotations`)."""
        if self.view is None or self.selected is None or not cls.strip():
            show_error("click an object and type its class first")
            return
        self.view.annotate(*self.selected, cls.strip())
        show_info(f"object t={self.selected[0]}, label {self.selected[1]}: {cls.strip()}")

    def save_labels(self, folder: str | Path | None = None) -> Path | None:
        """Write the (edited) labels into a run folder: re-measured, re-tracked, written
        whole; the viewer then shows the new run."""
        if self.view is None or self.labels_layer is None:
            show_error("no celldyn labels layer to save")
            return None
        if folder is None:
            start = str(self.view.folder or Path.cwd())
            folder = QFileDialog.getExistingDirectory(self, "Run folder to write", start)
            if not folder:
                return None
        try:
            new = save_labels_to_run(folder, np.asarray(self.labels_layer.data),
                                     view=self.view)
        except CelldynError as err:
            show_error(str(err))
            return None
        new.annotations = self.view.annotations
        for layer in [ly for ly in self.viewer.layers if ly.metadata.get("celldyn")
                      is self.view]:
            self.viewer.layers.remove(layer)
        self._add_run(new)
        return Path(folder)

    def save_annotations(self, path: str | Path | None = None) -> Path | None:
        """Write the classes set with "Set class" as ``t,label,class`` CSV."""
        from ..io.run_folder import write_csv

        if self.view is None or not len(self.view.annotations):
            show_error("no class annotations yet: click an object, type a class, Set class")
            return None
        if path is None:
            start = str((self.view.folder or Path.cwd()) / "annotations.csv")
            path, _ = QFileDialog.getSaveFileName(self, "Class annotations", start, "*.csv")
            if not path:
                return None
        write_csv(path, self.view.annotations)
        return Path(path)

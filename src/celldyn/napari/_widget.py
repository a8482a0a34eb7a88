"""The dock widget: run celldyn on an image layer, inspect objects, correct, save.

Collects the layer and the choices, calls :func:`celldyn.pipeline.run` in a worker
thread (:func:`napari.qt.threading.thread_worker`, a progress bar in the viewer) and
adds the layers of :func:`._layers.run_layers`. A click on the labels shows the
object's track id, lineage, class and the features behind it
(:meth:`._layers.RunView.describe_object`). User mistakes are one-line notifications.
"""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path
from typing import Any

import numpy as np
from napari.layers import Image, Labels, Layer
from napari.qt.threading import thread_worker
from napari.utils.notifications import show_error, show_info
from qtpy.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..classify.registry import SHIPPED
from ..config import TRACKERS, RunConfig
from ..errors import CelldynError
from ..segment.classical import METHODS
from ._layers import RunView, run_layers, view_of_result
from ._writer import save_labels_to_run

__all__ = ["CelldynWidget", "run_steps"]

SEGMENTERS = [*METHODS, "deep"]  # classical methods, then the U-Net
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
        self.segmenter.setCurrentText(defaults.method)
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

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.run_button)
        layout.addWidget(self.info)
        layout.addWidget(self.table)
        layout.addLayout(row)
        layout.addWidget(self.save_labels_button)
        layout.addWidget(self.save_classes_button)
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
            segmenter="deep" if seg == "deep" else "classical",
            method="watershed" if seg == "deep" else seg,
            dark_objects=self.dark.isChecked(), tracker=self.tracker.currentText(),
            classifier=None if cls == "none" else cls)

    def _image(self) -> Image:
        layer = self.viewer.layers.selection.active
        if not isinstance(layer, Image):
            images = [ly for ly in self.viewer.layers if isinstance(ly, Image)]
            if not images:
                raise CelldynError("open a movie first: there is no image layer")
            layer = images[-1]
        return layer

    def run(self) -> Any:
        """Start the pipeline on the selected (or last) image layer in a worker thread;
        returns the worker (None after a one-line error)."""
        try:
            layer = self._image()
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
            show_error(str(err))
        else:  # a bug: keep the traceback
            raise err

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

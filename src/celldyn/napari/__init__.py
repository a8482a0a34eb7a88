"""napari plugin (npe2, ``napari.yaml``): a reader, writers, the demo as sample data and
a dock widget.

A thin shell: readers and writers call :mod:`celldyn.io` and :mod:`celldyn.outputs`,
the widget calls :func:`celldyn.pipeline.run` / :func:`~celldyn.pipeline.write_run`
and the explanations of :mod:`celldyn.classify`; no algorithm lives here. Only
``_widget.py`` imports napari and Qt, and only this package may (an import-linter
contract): napari is the optional ``celldyn[napari]`` extra.
"""

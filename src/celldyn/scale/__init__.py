"""Scale: the same stages over dask, locally or on a dask.distributed cluster.

- :func:`connect`: a client on a LocalCluster of worker processes or an existing
  scheduler (:mod:`celldyn.scale.cluster`).
- :func:`segment_measure`: segmentation and measurement per chunk of frames as dask
  tasks, written incrementally to the run's resume cache
  (:mod:`celldyn.scale.execute`).
- :func:`relabel_lazy`: the tracked label movie, painted chunk by chunk where the run
  folder's writers read it (:mod:`celldyn.scale.execute`).
- :func:`segment_blocks`: one frame segmented in overlapping blocks and stitched
  (:mod:`celldyn.scale.blocks`).
- :func:`track_windows`: tracking in overlapping time windows, joined
  (:mod:`celldyn.scale.windows`).
- :mod:`celldyn.scale.plan`: the pipeline's one call to segment (whole frames or
  blocks; the automatic block size) and to track (whole movie or windows).

Below the pipeline (which calls :mod:`~celldyn.scale.plan`), above
the stages and io.
"""

from .blocks import segment_blocks
from .cluster import auto_workers, connect
from .execute import relabel_lazy, segment_measure
from .windows import track_windows

__all__ = ["auto_workers", "connect", "relabel_lazy", "segment_blocks", "segment_measure",
           "track_windows"]

"""Deep-learning segmentation (PyTorch): a small U-Net with semantic + distance heads.

See :mod:`.unet` for the network and why its instance head is a normalised distance
map, :mod:`.heads.postprocess` for targets and the marker watershed, :mod:`.tiling` for
seamless tiled inference, :mod:`.augment` and :mod:`.train` for training, and
:mod:`.registry` for model folders and :func:`segment_movie_deep`.
Importing this package needs ``torch`` (``pip install celldyn[deep]``).
"""

from __future__ import annotations

from .registry import (
    SHIPPED,
    DeepSegmenter,
    load_segmenter,
    save_segmenter,
    segment_movie_deep,
)

__all__ = ["SHIPPED", "DeepSegmenter", "load_segmenter", "save_segmenter",
           "segment_movie_deep"]

"""Training targets for, and post-processing of, the U-Net's heads."""

from .postprocess import instances_from_maps, make_targets, maps_from_logits

__all__ = ["instances_from_maps", "make_targets", "maps_from_logits"]

"""Synthetic twins of COCO, MPII and CrowdPose: procedural people in each dataset's real file layout.

`TwinParams` holds every parameter of one, `write_twin` writes it, `ensure_twin` generates once and
caches by all of the parameters, `synth_main` is the `harness synth` command. Modules: params, body
(skeleton and poses), figure (appearance), canvas (cv2 drawing and the id map), clutter
(backgrounds, occluders), scene (one image and its visibility), formats (annotation files), twin
(writing), cache.
"""
from harness.data.synth.cache import ensure_twin, is_cached
from harness.data.synth.params import TwinParams
from harness.data.synth.twin import synth_main, write_twin

__all__ = ["TwinParams", "ensure_twin", "is_cached", "synth_main", "write_twin"]

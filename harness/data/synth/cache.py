"""`ensure_twin`: a twin generated once per parameter set and reused from a cache folder.

The folder is named by `TwinParams.cache_key()`: a hash of every parameter of the twin (generator
version and JPEG quality included). A twin is written into a temporary folder beside it and
renamed into place, so a killed run never leaves a half twin under the final name; a lock file
serialises concurrent callers (Ray trials starting together), and the rename is the commit point
even where locking is unavailable.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from harness.atomic import locked
from harness.data.synth.params import TwinParams
from harness.data.synth.twin import Progress, layout_paths, write_twin


def is_cached(params: TwinParams, cache_root: Path) -> bool:
    """Whether the twin of `params` is complete in `cache_root`."""
    return (Path(cache_root).resolve() / params.cache_key() / "twin.json").is_file()


def ensure_twin(params: TwinParams, cache_root: Path, progress: Progress | None = None) -> dict[str, str]:
    """DatasetConfig path kwargs (root, train_ann, val_ann, train_images, val_images) of the twin."""
    kind = params.kind
    cache_root = Path(cache_root).resolve()
    cache_root.mkdir(parents=True, exist_ok=True)
    name = params.cache_key()
    final = cache_root / name
    if (final / "twin.json").is_file():
        return layout_paths(kind, final)
    with locked(cache_root / f".{name}.lock"):
        if (final / "twin.json").is_file():  # another process finished it while we waited
            return layout_paths(kind, final)
        for stale in cache_root.glob(f".{name}.tmp-*"):  # left by a killed run (we hold the lock)
            shutil.rmtree(stale, ignore_errors=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{name}.tmp-", dir=cache_root))
        try:
            write_twin(params, tmp, progress=progress)
            os.rename(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return layout_paths(kind, final)

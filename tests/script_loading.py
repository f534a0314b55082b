"""Loading a script of the repository (experiments/, scripts/: not packages) by its path in tests."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType


def load_script(name: str, path: Path) -> ModuleType:
    """The script at `path` as module `name`. Its folder is on sys.path while it loads, as Python
    puts it there for `python <script>`: the scripts import their siblings (`from versus import
    show`) with no path line of their own."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(path.parent))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(path.parent))
    return module

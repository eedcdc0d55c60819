"""Where the project is: its root folder, and how a message shows a path."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PARAMS_DIR = Path(os.environ.get("ASAL_PARAMS", PROJECT_ROOT / "params"))


def shown(path) -> str:
    """A path as messages and provenance show it: relative to the project folder when it
    lies inside, so that committed files carry no machine's paths."""
    path = Path(path)
    try:
        return path.resolve().relative_to(PROJECT_ROOT).as_posix()
    except ValueError:
        return str(path)


def absolute(value) -> str:
    """A path given relative to the project folder (or to ~), made absolute."""
    path = Path(os.path.expanduser(str(value)))
    return str(path if path.is_absolute() else PROJECT_ROOT / path)

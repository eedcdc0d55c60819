"""A stage's folder belongs to the parameters it was made with (its config.json).

A run whose parameters differ from those is refused with a message naming the first that
differs, so it never writes over a result, committed or not: another experiment
(`-p exp <name>`) gives it a folder of its own.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from asal.config.layout import CONFIG_JSON
from asal.errors import AsalError
from asal.project import shown

if TYPE_CHECKING:
    from asal.config.schema import Params


def recorded(folder: Path) -> dict | None:
    """The parameters a folder's result was made with; None when it holds none."""
    path = Path(folder) / CONFIG_JSON
    return json.loads(path.read_text()) if path.exists() else None


def refuse_other_parameters(folder: Path, cfg: Params, stage: str) -> None:
    """Stop when `folder` holds a result of `stage` made with other parameters."""
    made = recorded(folder)
    if made is None:
        return
    key = cfg.first_difference(made, stage)
    if key is not None:
        mine = cfg.record().get(key)
        raise AsalError(f"{shown(folder)} holds a run made with {key}={made.get(key)!r}, and "
                        f"this one asks for {key}={mine!r}; pass -p exp <name> to run it in "
                        f"an experiment folder of its own, or delete {shown(folder)} to "
                        "replace that run.")

"""Writing files so that a crash never leaves a half-written one."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path


@contextlib.contextmanager
def atomic_write(path, mode: str = "w"):
    """Open a temporary file beside `path`; rename it over `path` only on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode) as f:
            yield f
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text(path, text: str):
    with atomic_write(path, "w") as f:
        f.write(text)


def write_csv(path, frame):
    """A pandas DataFrame to CSV, atomically, without the index."""
    with atomic_write(path, "w") as f:
        frame.to_csv(f, index=False)


def write_json(path, value: dict):
    with atomic_write(path, "w") as f:
        json.dump(value, f, indent=2, default=str)
        f.write("\n")


@contextlib.contextmanager
def staged_dir(target):
    """Build a folder beside `target` and swap it in whole when the block succeeds."""
    import shutil

    target = Path(target)
    staging = target.parent / f".{target.name}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if target.exists():
        shutil.rmtree(target)
    staging.rename(target)

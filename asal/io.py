"""Writing files so that a crash never leaves a half-written one, and two processes never
write the same thing at once."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
from pathlib import Path

from filelock import FileLock, Timeout


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


def lock_path(target) -> Path:
    """The lock file of a file or folder: a hidden sibling, `.<name>.lock`."""
    target = Path(target)
    return target.parent / f".{target.name}.lock"


@contextlib.contextmanager
def exclusive(target, what: str):
    """Hold the lock of `target` for the block; wait, saying so once, while another has it.

    `what` completes the sentence "Waiting for another process that is ...". The lock is
    the operating system's (filelock), so it is released even when its holder is killed.
    """
    path = lock_path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(path, is_singleton=True)      # re-entrant: a caller may hold it already
    try:
        lock.acquire(timeout=0)
    except Timeout:
        print(f"Waiting for another process that is {what} ({path} is held); this one "
              "continues when it is done.", file=sys.stderr, flush=True)
        lock.acquire()
    try:
        yield
    finally:
        lock.release()


@contextlib.contextmanager
def staged_dir(target):
    """Build a folder beside `target` and swap it in whole when the block succeeds.

    The caller holds `exclusive(target, ...)`, so no other process builds the same folder.
    """
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

"""One workflow at a time over an experiment's runs folder.

Snakemake locks its working directory (.snakemake/), not the files it writes. Two
workflows started from two folders (two terminals, two site profiles, a second user of a
shared file system) over one runs/<exp>/ would each remove outputs the other is reading
or writing. So the workflow's head process (its `onstart`, never a job on a node) holds
this lock until it ends, and a second one stops at once, saying who holds it. A job, and
a notebook run by hand, hold the lock of their own run folder (asal/io.py: exclusive).
"""

from __future__ import annotations

import datetime
import json
import os
import socket
from pathlib import Path

from filelock import FileLock, Timeout

from asal.errors import AsalError
from asal.io import json_text, lock_path, write_text

_HELD: list[FileLock] = []      # the head's lock, held for the process's whole life


def hold_workflow(runs: Path, holder: Path) -> None:
    """Take the lock of `runs` for this process, and record who holds it in `holder`; a
    workflow already holding it is named in the error."""
    runs.mkdir(parents=True, exist_ok=True)
    lock = FileLock(lock_path(runs), is_singleton=True)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise AsalError(f"Another workflow is running over {runs} ({_holder_text(holder)}); "
                        "wait for it to end, or give this one an experiment of its own "
                        "(--config exp=<name>).") from None
    _HELD.append(lock)
    write_text(holder, json_text({
        "host": socket.gethostname(), "pid": os.getpid(), "working_directory": os.getcwd(),
        "started": datetime.datetime.now().isoformat(timespec="seconds")}))


def _holder_text(holder: Path) -> str:
    try:
        who = json.loads(holder.read_text())
    except (OSError, ValueError):
        return "its holder did not say who it is"
    return (f"process {who['pid']} on {who['host']}, started {who['started']} in "
            f"{who['working_directory']}")

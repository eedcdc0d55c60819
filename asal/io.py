"""Writing files so that nothing already written is lost or left half-written, and two
processes never write the same thing at once.

- One file is written to a temporary name beside it and renamed over it (`write_bytes`
  and the helpers on top of it). A temporary file that a killed process left behind is
  removed by the next write of the same file.
- Files that belong together (02's batch files and batches.csv, 03's CSVs, labeled.txt
  and checkpoint) are written by `write_set`: the next version of their folder is built
  beside it, with the files that stay hard-linked in, and swapped in by two renames. A
  reader sees the old set or the new one, never a mix; a build that was killed is
  removed, and a swap that was cut between its renames is completed, by `recover`, which
  runs whenever the folder's lock is taken.
- The space a write needs is checked before anything is written: a full disk stops with
  one sentence naming the folder and the space needed, and the previous files stay.
"""

from __future__ import annotations

import contextlib
import errno
import io
import json
import os
import secrets
import shutil
import socket
import sys
from pathlib import Path

from filelock import FileLock, Timeout

from asal.errors import AsalError

MARGIN = 1 << 20        # bytes kept free beyond what a write needs (file system metadata)
_HOST = socket.gethostname().replace(".", "_")     # no dots: they separate the name's parts
_OWNER = f"{_HOST}-{os.getpid()}"


def _size(n: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024


def disk_full(folder: Path, needed: int | None = None) -> AsalError:
    """The one sentence for a full disk: the folder, what is free and what is needed."""
    folder = Path(folder)
    probe = next((p for p in (folder, *folder.parents) if p.exists()), Path("/"))
    free = shutil.disk_usage(probe).free
    need = f", and this write needs {_size(needed + MARGIN)}" if needed is not None else ""
    return AsalError(f"The disk that holds {folder} is full ({_size(free)} free{need}); "
                     "free space there, or choose another folder, and run again.")


def check_space(folder: Path, needed: int) -> None:
    folder = Path(folder)
    probe = next((p for p in (folder, *folder.parents) if p.exists()), Path("/"))
    usage = shutil.disk_usage(probe)
    # a file system that reports no size at all (/proc, /sys) is not full: the write
    # itself then says what is wrong
    if usage.total and usage.free < needed + MARGIN:
        raise disk_full(folder, needed)


@contextlib.contextmanager
def _no_space_as_error(folder: Path, needed: int | None = None):
    try:
        yield
    except OSError as err:
        if err.errno in (errno.ENOSPC, errno.EDQUOT):
            raise disk_full(folder, needed) from None
        raise


def _alive(owner: str) -> bool:
    host, _, pid = owner.rpartition("-")
    if host != _HOST or not pid.isdigit():
        return True                        # another machine's: not ours to judge
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def remove_orphans(path: Path) -> None:
    """Temporary files of `path` whose writing process is gone (killed mid-write)."""
    for tmp in path.parent.glob(f".{path.name}.*.tmp"):
        owner = tmp.name[len(path.name) + 2:].split(".", 1)[0]
        if not _alive(owner):
            tmp.unlink(missing_ok=True)


def _temporary(path: Path) -> tuple[int, Path]:
    """A new temporary file beside `path`, opened for writing. Its mode is what the umask
    gives a new file (0644 as a rule), as for any file a program writes; mkstemp's 0600
    would make the result unreadable to the rest of a team."""
    for _ in range(100):
        tmp = path.parent / f".{path.name}.{_OWNER}.{secrets.token_hex(4)}.tmp"
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(path))


def cannot_write(path: Path, err: OSError) -> AsalError:
    """One sentence for a file that cannot be written: a full disk, or why else not."""
    if err.errno in (errno.ENOSPC, errno.EDQUOT):
        return disk_full(path.parent)
    return AsalError(f"Cannot write {path} ({err.strerror or err}); choose a file in a folder "
                     "you can write to.")


def write_bytes(path, data: bytes) -> None:
    """`data` as the file `path`, whole or not at all."""
    path = Path(path)
    if path.is_dir():
        raise AsalError(f"{path} is a folder, and a file is to be written there; give the "
                        "name of a file (in that folder or elsewhere) instead.")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        remove_orphans(path)
        check_space(path.parent, len(data))
        fd, tmp = _temporary(path)
    except OSError as err:
        raise cannot_write(path, err) from None
    try:
        with _no_space_as_error(path.parent, len(data)), os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        raise cannot_write(path, err) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text(path, text: str):
    write_bytes(path, text.encode())


def csv_text(frame) -> str:
    """A pandas DataFrame as CSV text, without the index."""
    return frame.to_csv(index=False)


def json_text(value: dict) -> str:
    return json.dumps(value, indent=2, default=str) + "\n"


def torch_bytes(obj) -> bytes:
    """What torch.save writes, in memory: its size is known before the disk is touched."""
    import torch

    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def write_csv(path, frame):
    write_text(path, csv_text(frame))


def write_torch(path, obj):
    write_bytes(path, torch_bytes(obj))


# ----------------------------------------------------------------- sets of files

def _staging(target: Path) -> Path:
    return target.parent / f".{target.name}.partial"


def _previous(target: Path) -> Path:
    return target.parent / f".{target.name}.old"


def recover(target) -> None:
    """Undo what a killed build or swap of `target` left: a partial build is removed, a
    swap cut between its two renames is completed, and temporary files of single writes
    inside it are removed. The caller holds target's lock, and every write into a folder
    of a stage happens under it, so no temporary file there belongs to a live writer."""
    target = Path(target)
    shutil.rmtree(_staging(target), ignore_errors=True)
    old = _previous(target)
    if old.exists():
        if target.exists():
            shutil.rmtree(old, ignore_errors=True)
        else:
            old.rename(target)
    if target.is_dir():
        for tmp in target.glob(".*.tmp"):
            tmp.unlink(missing_ok=True)


def _swap(staging: Path, target: Path) -> None:
    old = _previous(target)
    if target.exists():
        target.rename(old)
    staging.rename(target)
    shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def staged_dir(target, keep_existing: bool = False):
    """Build the next version of folder `target` beside it; swap it in when the block
    succeeds. With keep_existing the build starts from target's files (hard links: free,
    and the old version's files are never written through them).

    The caller holds `exclusive(target, ...)`, so no other process builds the same folder.
    """
    target = Path(target)
    recover(target)
    staging = _staging(target)
    try:
        with _no_space_as_error(target):
            if keep_existing and target.is_dir():
                shutil.copytree(target, staging, copy_function=_link_or_copy)
            else:
                staging.mkdir(parents=True)
            yield staging
        _swap(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _link_or_copy(src, dst):
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def write_set(folder, files: dict[str, bytes | str], keep_others: bool = True,
              remove=()) -> None:
    """Replace or add `files` (name -> content) in `folder` and drop the names in `remove`,
    as one change: a reader sees the folder before or after, never between. The folder's
    other files stay, unless keep_others is false (then it holds exactly `files`)."""
    folder = Path(folder)
    data = {name: c.encode() if isinstance(c, str) else c for name, c in files.items()}
    needed = sum(map(len, data.values()))
    check_space(folder, needed)
    with staged_dir(folder, keep_existing=keep_others) as stage, \
            _no_space_as_error(folder, needed):
        for name in (*data, *remove):
            (stage / name).unlink(missing_ok=True)     # a link to the old version's file
        for name, content in data.items():
            (stage / name).write_bytes(content)


# ------------------------------------------------------------------------- locks

def lock_path(target) -> Path:
    """The lock file of a file or folder: a hidden sibling, `.<name>.lock`."""
    target = Path(target)
    return target.parent / f".{target.name}.lock"


@contextlib.contextmanager
def exclusive(target, what: str):
    """Hold the lock of `target` for the block; wait, saying so once, while another has it.

    `what` completes the sentence "Waiting for another process that is ...". The lock is
    the operating system's (filelock), so it is released even when its holder is killed;
    what a killed holder left half-done is then recovered (see `recover`).
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
        if lock.lock_counter == 1:           # not when a caller of ours holds it already
            recover(target)
        yield
    finally:
        lock.release()

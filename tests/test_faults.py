"""Nothing already written is lost or left half-written: a write that fails mid-set, a
full disk, and a process killed while it writes."""

import errno
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from asal.data.batchfiles import write_batches
from asal.errors import AsalError
from asal.io import exclusive, write_bytes, write_set
from asal.models.ranking import sort_scores, split_batches


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())
            if not p.name.startswith(".")}


def _hidden(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith(".")
                  and not p.name.endswith(".lock"))


def _frame(n: int, k: int) -> pd.DataFrame:
    keys = [f"c/train/good/{i:03d}.png" for i in range(n)]
    return split_batches(sort_scores(pd.DataFrame({"path": keys, "score": range(n)})), k)


def test_a_write_that_fails_after_the_first_file_leaves_the_previous_set(tmp_path,
                                                                          monkeypatch):
    out = tmp_path / "batches"
    write_batches(out, _frame(40, 5))
    before = _snapshot(out)
    calls = []
    real = Path.write_bytes

    def fail_after_first(self, data):
        calls.append(self.name)
        if len(calls) > 1:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, data)

    monkeypatch.setattr(Path, "write_bytes", fail_after_first)
    with pytest.raises(AsalError, match=r"The disk that holds .*batches is full .* free, "
                                        r"and this write needs .*; free space there"):
        write_batches(out, _frame(40, 4))
    assert len(calls) == 2
    assert _snapshot(out) == before and _hidden(tmp_path) == []


@pytest.fixture
def small_disk(tmp_path):
    """A 1.5 MiB tmpfs, where root may mount one (CI runs as root)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1536k", "tmpfs", str(mount)],
                      capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here")
    yield mount
    subprocess.run(["umount", str(mount)], check=True)


def test_a_full_disk_stops_before_writing_and_names_folder_and_space(small_disk):
    out = small_disk / "run"
    write_set(out, {"metrics.csv": "a,b\n1,2\n", "checkpoint.pt": b"x" * 300_000})
    before = _snapshot(out)
    (small_disk / "filler").write_bytes(b"\0" * 900_000)
    with pytest.raises(AsalError, match=r"disk that holds .*run is full \(.* KiB free, and "
                                        r"this write needs 1\.3 MiB\)"):
        write_set(out, {"metrics.csv": "a,b\n1,2\n3,4\n", "checkpoint.pt": b"y" * 300_000})
    assert _snapshot(out) == before and _hidden(small_disk) == []
    with pytest.raises(AsalError, match="is full"):
        write_bytes(small_disk / "table.csv", b"z" * 700_000)
    assert not (small_disk / "table.csv").exists() and _hidden(small_disk) == []


WRITER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from asal import io
    real = Path.write_bytes
    def slow(self, data):
        real(self, data[:10])
        print("writing", flush=True)
        time.sleep(60)
    Path.write_bytes = slow
    io.os.fdopen = lambda fd, mode: _Slow(fd)
    class _Slow:
        def __init__(self, fd): self.f = open(fd, "wb", closefd=True)
        def __enter__(self): return self
        def __exit__(self, *a): self.f.close()
        def write(self, data):
            self.f.write(data[:10]); self.f.flush(); print("writing", flush=True)
            time.sleep(60)
    folder = Path(sys.argv[1])
    if sys.argv[2] == "set":
        with io.exclusive(folder, "writing"):
            io.write_set(folder, {"checkpoint.pt": b"x" * 1000, "metrics.csv": "a\\n"})
    else:
        io.write_bytes(folder / "checkpoint.pt", b"x" * 1000)
""")


@pytest.mark.parametrize("how", ["set", "file"])
def test_a_kill_during_a_write_leaves_nothing_after_the_next_one(tmp_path, how):
    folder = tmp_path / "seed0"
    write_set(folder, {"checkpoint.pt": b"old", "metrics.csv": "old\n"})
    before = _snapshot(folder)
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(folder), how],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "writing"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert _snapshot(folder) == before                   # what was there is untouched
    left = _hidden(tmp_path) + _hidden(folder)
    assert left, "the killed write left its temporary file or folder (the premise)"
    # the next write of the same thing, as the next run makes it, clears what was left
    if how == "set":
        with exclusive(folder, "writing"):
            write_set(folder, {"checkpoint.pt": b"new"})
    else:
        write_bytes(folder / "checkpoint.pt", b"new")
    assert _hidden(tmp_path) == [] and _hidden(folder) == []
    assert (folder / "checkpoint.pt").read_bytes() == b"new"


def test_a_swap_cut_between_its_renames_is_completed(tmp_path):
    folder = tmp_path / "batches"
    write_set(folder, {"batch0.txt": "a\n"})
    folder.rename(tmp_path / ".batches.old")            # killed after the first rename
    (tmp_path / ".batches.partial").mkdir()
    with exclusive(folder, "reading"):
        assert (folder / "batch0.txt").read_text() == "a\n"
    assert _hidden(tmp_path) == []

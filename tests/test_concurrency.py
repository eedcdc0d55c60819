"""Two processes on one data root, one labels.csv, one run folder: no crash, nothing lost."""

import contextlib
import subprocess
import sys
import tempfile
import textwrap
import time

import pandas as pd

from asal.data.folders import list_split, pool_key
from asal.data.labels import read_labels
from asal.io import exclusive


def run_together(*scripts: str, hold=None, timeout: int = 300):
    """Start every script in its own Python process at once; wait for all of them.

    With `hold`, this process holds that file or folder's lock until every script has
    said it waits for it, so the scripts meet at the lock whatever their start-up times.
    """
    logs = [tempfile.TemporaryFile("w+") for _ in scripts]
    lock = exclusive(hold, "holding it for the test") if hold else contextlib.nullcontext()
    with lock:
        procs = [subprocess.Popen([sys.executable, "-c", textwrap.dedent(s)], text=True,
                                  stdout=subprocess.PIPE, stderr=log)
                 for s, log in zip(scripts, logs)]
        deadline = time.monotonic() + timeout
        while hold and not all(_read(log).count("Waiting") for log in logs):
            assert time.monotonic() < deadline, [_read(log) for log in logs]
            time.sleep(0.2)
    done = []
    for p, log in zip(procs, logs):
        out, _ = p.communicate(timeout=timeout)
        done.append(subprocess.CompletedProcess(p.args, p.returncode, out, _read(log)))
    for d in done:
        assert d.returncode == 0, d.stderr
    return done


def _read(log) -> str:
    log.seek(0)
    return log.read()


def test_two_processes_make_the_same_synthetic_data_once(tmp_path):
    script = f"""
        from asal.data.synthetic import ensure_synthetic
        ensure_synthetic({str(tmp_path)!r}, "synth_tiles")
    """
    done = run_together(script, script, hold=tmp_path / "synth_tiles")
    for d in done:                     # each waited, said so in one sentence, then found
        assert d.stderr.startswith("Waiting for another process that is building")
        assert d.stderr.count("\n") == 1                   # the data built, or built it
    manifest = pd.read_csv(tmp_path / "synth_tiles" / "manifest.csv")
    assert all((tmp_path / p).exists() for p in manifest.path) and len(manifest) == 200
    assert not list(tmp_path.glob(".synth_tiles.partial"))


def test_two_labelers_at_once_lose_no_label(synth_root, tmp_path):
    keys = [pool_key(p) for p in list_split(synth_root, "synth_fabric", "train")[0]]
    path = tmp_path / "labels.csv"

    def labeler(part):
        return f"""
            from asal.data.labels import set_labels
            keys = {keys!r}
            for k in keys[{part}::2]:
                set_labels({str(path)!r}, {{k: {part}}}, keys)
        """
    run_together(labeler(0), labeler(1))
    labels = read_labels(path, keys)
    assert len(labels) == len(keys)
    assert all(labels[k] == i % 2 for i, k in enumerate(keys))


def test_two_runs_of_one_folder_wait_for_each_other(synth_root, tmp_path):
    script = f"""
        from asal.config.profiles import resolve
        from asal.stages.active_learning.loop import run_active_learning
        cfg = resolve(category="synth_fabric", data_root={str(synth_root)!r},
                      runs_root={str(tmp_path)!r}, image_size=32, cycles=3, epochs=2,
                      device="cpu", pretrained="none", freeze_body=False, head="adam",
                      init="random",
                      batches_dir={str(tmp_path / "batches")!r})
        result = run_active_learning(cfg, progress=False)
        print(result.cycles.auroc.iloc[-1], len(result.labeled))
    """
    folder = tmp_path / "batches"
    folder.mkdir()
    paths = [pool_key(p) for p in list_split(synth_root, "synth_fabric", "train")[0]]
    for b in range(5):
        (folder / f"batch{b}.txt").write_text("\n".join(paths[b::5]))
    from asal.config.layout import al_dir
    from asal.config.profiles import resolve

    run = al_dir(resolve(category="synth_fabric", runs_root=str(tmp_path), init="random"))
    done = run_together(script, script, hold=run)
    assert all("Waiting for another process that is running" in d.stderr for d in done)
    assert done[0].stdout == done[1].stdout                # the second took the first's run

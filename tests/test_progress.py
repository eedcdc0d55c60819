"""Progress on the terminal: a stage's lines with a time estimate, and no kernel warning."""

import os
import subprocess
import sys

from asal.progress import Progress, duration
from asal.project import PROJECT_ROOT


def test_the_estimate_counts_only_this_processs_steps():
    bar = Progress("DRAEM x", total=10, unit="epoch", start=4)
    bar.began = 0.0
    # 2 epochs of this process in 20 s: 10 s each, 4 left
    assert bar.line(6, 20.0, loss=0.5) == ("DRAEM x: epoch 6/10, 20 s so far, about 40 s left, "
                                           "loss 0.500")
    assert "done" in bar.line(10, 60.0)
    assert (duration(59), duration(185), duration(7620)) == ("59 s", "3 min 05 s", "2 h 07 min")


def test_a_papermill_run_of_01_prints_its_progress_on_stderr(tmp_path):
    # as a person runs it: outside pytest's capture, which changes how ipykernel copies
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}
    run = subprocess.run(
        [sys.executable, "-m", "papermill", "--engine", "asal", "--no-progress-bar", "-k",
         "python3", str(PROJECT_ROOT / "notebooks" / "01_scores.ipynb"),
         str(tmp_path / "01.ipynb"), "-p", "scorer", "draem", "-p", "draem_epochs", "2",
         "-p", "image_size", "32",
         "-p", "data_root", str(tmp_path / "data"), "-p", "runs_root", str(tmp_path / "runs")],
        capture_output=True, text=True, timeout=600, env=env, cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "draem synth_fabric (mixed): epoch 2/2" in run.stderr and "so far" in run.stderr
    assert "left" in run.stderr.split("epoch 1/2")[1].splitlines()[0]
    assert "without encryption" not in run.stderr
    assert "epoch 2/2" not in run.stdout


def test_the_default_scorer_says_how_far_its_fit_is(tmp_path):
    """The weight-free default scorer prints a line per network of its patch member, with
    the time so far and left, as DRAEM prints its epochs, and a line before it scores the
    pool and the test split."""
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}
    run = subprocess.run(
        [sys.executable, "-m", "papermill", "--engine", "asal", "--no-progress-bar", "-k",
         "python3", str(PROJECT_ROOT / "notebooks" / "01_scores.ipynb"),
         str(tmp_path / "01.ipynb"), "-p", "image_size", "32",
         "-p", "data_root", str(tmp_path / "data"), "-p", "runs_root", str(tmp_path / "runs")],
        capture_output=True, text=True, timeout=600, env=env, cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    said = "ensemble synth_fabric (mixed): matching the pool's patches: network"
    first = next(line for line in run.stderr.splitlines() if f"{said} 1/3" in line)
    assert "so far" in first and "left" in first
    assert f"{said} 3/3" in run.stderr and "done" in run.stderr.split(f"{said} 3/3")[1]
    # then the scoring passes, each announced with its size, the test split's last
    after = run.stderr.split(f"{said} 3/3")[1]
    pool, test = (f"ensemble synth_fabric (mixed): scoring {what} (" for what in
                  ("the pool", "the test split"))
    assert pool in after and test in after.split(pool)[1] and " so far" in after

"""docs/own-images.md's route, run as the page gives it: its numbered command blocks, read
from the page, in a scratch project folder holding 40 unlabeled images; each stop is
answered from the known labels through labels.csv, as a person would in 05."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from asal.data.labels import read_to_label
from asal.data.unlabeled_demo import unlabeled_copy
from asal.project import PROJECT_ROOT

PAGE = PROJECT_ROOT / "docs" / "own-images.md"
RUN = Path("runs/own/my_parts/al/asal/least_confidence/seed0")


def route_steps(text: str) -> dict[int, list[str]]:
    """The page's command blocks that open with `# N. ...`, by step: their commands."""
    steps = {}
    for block in re.findall(r"```bash\n(.*?)```", text, re.S):
        lines = [line.strip() for line in block.splitlines() if line.strip()]
        if lines and (m := re.fullmatch(r"# (\d+)\. .+", lines[0])):
            steps[int(m.group(1))] = [line for line in lines[1:] if not line.startswith("#")]
    return steps


def test_the_page_gives_the_route_in_numbered_blocks():
    steps = route_steps(PAGE.read_text())
    assert sorted(steps) == [2, 3, 6]
    assert all("-p profile own -p category my_parts" in c for c in steps[2][1:] + steps[3])
    assert steps[6][0].startswith(f"asal predict {RUN.as_posix()} ")


@pytest.fixture
def project(tmp_path, synth_root):
    """A project folder as a person has it after step 1: the notebooks, and 40 unlabeled
    images in data/my_parts/train/unlabeled/; the known labels beside it."""
    folder = tmp_path / "project"
    (folder / "data").mkdir(parents=True)
    (folder / "notebooks").symlink_to(PROJECT_ROOT / "notebooks")
    shutil.copytree(synth_root / "synth_washer", folder / "data" / "synth_washer")
    truth = unlabeled_copy(folder / "data", "synth_washer", "my_parts", limit=40)
    shutil.rmtree(folder / "data" / "synth_washer")
    return folder, truth


def run(commands: list[str], folder: Path) -> subprocess.CompletedProcess:
    """One step's commands in the project folder, as a shell runs them there."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
           **{f"ASAL_{k.upper()}": str(folder / k) for k in ("data", "runs", "figures")}}
    out = subprocess.run(["bash", "-ec", "\n".join(commands)], cwd=folder, env=env,
                         capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    return out


def test_the_own_images_route_as_the_page_gives_it(project):
    folder, truth = project
    steps = route_steps(PAGE.read_text())
    run(steps[2], folder)
    out = run(steps[3], folder)
    assert re.search(r"^10 images need a label before the initial set of my_parts \(asal, "
                     r"seed 0\): they are listed in .*to_label\.csv; label them in "
                     r"notebooks/05_label\.ipynb \(with profile own, category my_parts",
                     out.stderr, re.M), out.stderr[-2000:]
    labels, runs = folder / "runs" / "own" / "my_parts" / "labels.csv", 1
    while "Finished: the classifier is in" not in out.stderr:
        asked = read_to_label(folder / RUN)
        assert asked and runs <= 10, out.stderr[-2000:]
        with labels.open("a") as f:         # a person's rows, as 05 or a spreadsheet writes
            f.write("" if labels.exists() and labels.stat().st_size else "path,label\n")
            f.writelines(f"{k},{'defect' if truth[k] else 'good'}\n" for k in asked)
        out = run(steps[3], folder)
        runs += 1
        assert "need" in out.stderr and "a label" in out.stderr or "Finished" in out.stderr
    assert runs == 11           # ten stops (the initial set, then an image a cycle), the end
    cycles = pd.read_csv(folder / RUN / "metrics_cycle.csv")
    assert cycles.n_labels.tolist() == list(range(10, 20))
    labeled = (folder / RUN / "labeled.txt").read_text().split()
    assert len(set(labeled)) == 19 and set(labeled) <= set(truth)   # none labeled twice
    assert cycles.n_anomalies.iloc[-1] == sum(truth[k] for k in labeled)

    new_parts = folder / "new_parts"
    new_parts.mkdir()
    for key in list(truth)[:6]:
        shutil.copyfile(folder / "data" / key, new_parts / Path(key).name)
    out = run(steps[6], folder)
    scored = pd.read_csv(folder / "new_parts.csv")
    assert sorted(Path(p).name for p in scored.path) == sorted(os.listdir(new_parts))
    assert scored.p_defect.between(0, 1).all()
    assert set(scored.predicted) <= {"good", "defect"} and scored.anomaly_score.notna().all()
    assert "6 images scored" in out.stderr

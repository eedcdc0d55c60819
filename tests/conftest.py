"""Shared fixtures: small datasets made in temporary folders."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from asal.data.synthetic import make_synthetic
from asal.tools.tiny_workflow import TINY_CONFIG, snakemake, write_profile


@pytest.fixture(scope="session")
def synth_root(tmp_path_factory) -> Path:
    """The built-in synthetic data at its default size, made once per test session."""
    root = tmp_path_factory.mktemp("synthetic")
    make_synthetic(root, seed=0)
    return root


@pytest.fixture(scope="session")
def unlabeled_root(synth_root, tmp_path_factory) -> Path:
    """synth_washer's pool as a person has it: category `own`, its images in train/unlabeled/
    under names that do not tell the label, no test split. truth.csv (beside the category)
    holds the labels, for the tests to answer with."""
    import shutil

    import pandas as pd

    from asal.data.unlabeled_demo import unlabeled_copy

    root = tmp_path_factory.mktemp("own")
    shutil.copytree(synth_root / "synth_washer", root / "synth_washer")
    truth = unlabeled_copy(root, "synth_washer", "own")
    shutil.rmtree(root / "synth_washer")
    pd.DataFrame({"path": list(truth), "label": list(truth.values())}).to_csv(
        root / "truth.csv", index=False)
    return root


@pytest.fixture(scope="session")
def tiny_workflow(tmp_path_factory) -> Path:
    """The tiny profile (asal/tools/tiny_workflow.py) run to its tables with --cores 2: the
    folder holding its profile, data, runs and figures, and terminal.log (what the command
    printed). Tests read it, never change it."""
    folder = tmp_path_factory.mktemp("tiny")
    profile = write_profile(folder)
    out = snakemake("--cores", "2", "--configfile", str(profile), *TINY_CONFIG, cwd=folder)
    assert out.returncode == 0, out.stderr[-3000:]
    (folder / "terminal.log").write_text(out.stdout + out.stderr)   # what a person saw
    return folder


OWN_TINY = dict(cycles=2, epochs=1, draem_epochs=1, image_size=32, draem_score_filter=3,
                synthesis_epochs=1)


@pytest.fixture(scope="session")
def own_waiting(unlabeled_root, tmp_path_factory):
    """params/own.yaml, made tiny, on a folder of unlabeled images (no test split), run with
    --cores 2 until it stops for labels: the folder and Snakemake's output. Tests that go on
    from there work on a copy (shutil.copytree keeps the files' times)."""
    import shutil

    folder = tmp_path_factory.mktemp("own_workflow")
    shutil.copytree(unlabeled_root / "own", folder / "data" / "own")
    profile = write_profile(folder, "tiny_own", base="own", **OWN_TINY)
    return folder, snakemake("--cores", "2", "--configfile", str(profile), cwd=folder)


@pytest.fixture
def swapped_test_labels(tmp_path):
    """A copy of a category whose test/good and test/anomaly folders are swapped: what a
    result that never reads test labels must not notice."""
    import shutil

    def swap(root: Path, category: str) -> Path:
        swapped = tmp_path / "swapped"
        shutil.copytree(root / category, swapped / category,
                        ignore=shutil.ignore_patterns(".cache"))
        test = swapped / category / "test"
        (test / "good").rename(test / "was_good")
        (test / "anomaly").rename(test / "good")
        (test / "was_good").rename(test / "anomaly")
        return swapped
    return swap


def write_png(path: Path, array: np.ndarray):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


@pytest.fixture
def fake_mvtec(tmp_path) -> Path:
    """A tiny tree in the official MVTec AD layout: two categories, two defect types."""
    src = tmp_path / "mvtec"
    rng = np.random.default_rng(0)
    for cat in ("bottle", "screw"):
        for i in range(40):
            write_png(src / cat / "train" / "good" / f"{i:03d}.png",
                      rng.integers(0, 255, (16, 16, 3), dtype=np.uint8))
        for i in range(10):
            write_png(src / cat / "test" / "good" / f"{i:03d}.png",
                      rng.integers(0, 255, (16, 16, 3), dtype=np.uint8))
        for defect in ("broken", "crack"):
            for i in range(6):
                write_png(src / cat / "test" / defect / f"{i:03d}.png",
                          rng.integers(0, 255, (16, 16, 3), dtype=np.uint8))
                mask = np.zeros((16, 16), np.uint8)
                mask[i:i + 4, 2:6] = 255
                write_png(src / cat / "ground_truth" / defect / f"{i:03d}_mask.png", mask)
    return src

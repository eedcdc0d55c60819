"""Shared fixtures: small datasets made in temporary folders."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from asal.data.synthetic import make_synthetic


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

    from asal.data.folders import list_split

    root = tmp_path_factory.mktemp("own")
    paths, labels = list_split(synth_root, "synth_washer", "train")
    order = np.random.default_rng(0).permutation(len(paths))
    rows = []
    for name_index, i in enumerate(order):
        name = f"part_{name_index:03d}.png"
        dest = root / "own" / "train" / "unlabeled" / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(paths[i], dest)
        rows.append((f"own/train/unlabeled/{name}", labels[i]))
    pd.DataFrame(rows, columns=["path", "label"]).to_csv(root / "truth.csv", index=False)
    return root


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

import os
import shutil

import numpy as np
import pytest
import torch
from PIL import Image

from asal.data.folders import list_split
from asal.data.images import load_split
from asal.errors import AsalError


@pytest.fixture
def small_root(synth_root, tmp_path):
    root = tmp_path / "data"
    shutil.copytree(synth_root / "synth_tiles", root / "synth_tiles")
    return root


def test_shapes_labels_and_paths(small_root):
    split = load_split(small_root, "synth_tiles", "train", 32)
    assert split.images.dtype == torch.uint8
    assert split.images.shape == (160, 3, 32, 32)
    assert split.labels.sum() == 32
    assert all("/train/" in p for p in split.paths)
    assert all(("/anomaly/" in p) == bool(l) for p, l in zip(split.paths, split.labels))


def test_cache_hit_is_identical_and_a_changed_file_invalidates(small_root):
    first = load_split(small_root, "synth_tiles", "test", 32)
    second = load_split(small_root, "synth_tiles", "test", 32)
    assert torch.equal(first.images, second.images)
    assert len(list((small_root / "synth_tiles" / ".cache").glob("test-32-*.pt"))) == 1
    # Overwrite one image with black; the cache must notice.
    target = first.paths[0]
    Image.fromarray(np.zeros((128, 128, 3), np.uint8)).save(target)
    stat = os.stat(target)
    os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    third = load_split(small_root, "synth_tiles", "test", 32)
    assert third.images[0].sum() == 0
    assert torch.equal(third.images[1:], first.images[1:])


def test_gray_rgba_and_16_bit_become_rgb(tmp_path):
    root = tmp_path / "data"
    folder = root / "mine" / "train"
    (folder / "good").mkdir(parents=True)
    (folder / "anomaly").mkdir(parents=True)
    Image.fromarray(np.full((8, 8), 100, np.uint8), "L").save(folder / "good" / "a.png")
    Image.fromarray(np.full((8, 8, 4), 200, np.uint8), "RGBA").save(folder / "good" / "b.png")
    Image.fromarray(np.full((8, 8), 65535, np.uint16)).save(folder / "anomaly" / "c.png")
    split = load_split(root, "mine", "train", 8, cache=False)
    assert split.images.shape == (3, 3, 8, 8)
    assert split.images[0].unique().tolist() == [100]
    assert split.images[1].unique().tolist() == [200]
    assert split.images[2].unique().tolist() == [255]     # 16-bit white stays white


def test_grayscale_option_gives_equal_channels(small_root):
    split = load_split(small_root, "synth_tiles", "test", 32, grayscale=True)
    assert torch.equal(split.images[:, 0], split.images[:, 1])
    assert torch.equal(split.images[:, 1], split.images[:, 2])


def test_corrupt_png_error_names_the_file(small_root):
    bad = next((small_root / "synth_tiles" / "test" / "good").glob("*.png"))
    bad.write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    with pytest.raises(AsalError, match=bad.name):
        load_split(small_root, "synth_tiles", "test", 32)


def test_missing_category_and_empty_class(small_root):
    with pytest.raises(AsalError, match="prepare-mvtec"):
        load_split(small_root, "bottle", "train", 32)
    with pytest.raises(AsalError, match="make-synthetic"):
        list_split(small_root, "synth_fabric", "train")
    # loading is the one place that makes a built-in category on first use
    assert len(load_split(small_root, "synth_fabric", "train", 32)) == 160
    for p in (small_root / "synth_tiles" / "test" / "anomaly").glob("*.png"):
        p.unlink()
    with pytest.raises(AsalError, match="anomaly holds no images"):
        load_split(small_root, "synth_tiles", "test", 32)

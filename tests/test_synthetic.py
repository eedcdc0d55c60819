import hashlib

import numpy as np
import pandas as pd
from PIL import Image

from asal.data.folders import CLASSES, mask_path
from asal.data.synthetic import CATEGORIES, make_synthetic


def _hashes(root):
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_layout_and_anomaly_ratio(synth_root):
    for cat in CATEGORIES:
        for split in ("train", "test"):
            for cls in CLASSES:
                assert list((synth_root / cat / split / cls).glob("*.png")), (cat, split, cls)
        m = pd.read_csv(synth_root / cat / "manifest.csv", keep_default_na=False)
        assert 0.15 <= m.label.mean() <= 0.25
        assert m.defect[m.label == 1].nunique() >= 4
        test = m[m.split == "test"]
        assert abs(len(test) - 0.2 * len(m)) <= 1
        assert abs(test.label.mean() - m.label.mean()) < 0.03      # stratified


def test_masks_non_empty_exactly_for_anomalies(synth_root):
    for cat in CATEGORIES:
        for split in ("train", "test"):
            for label, cls in enumerate(CLASSES):
                for image in (synth_root / cat / split / cls).glob("*.png"):
                    mask = mask_path(image)
                    if label == 0:
                        assert not mask.exists()
                    else:
                        assert (np.asarray(Image.open(mask)) > 0).any(), mask


def test_same_seed_is_byte_identical_other_seed_is_not(tmp_path):
    make_synthetic(tmp_path / "a", ["synth_washer"], n_images=30, seed=3)
    make_synthetic(tmp_path / "b", ["synth_washer"], n_images=30, seed=3)
    make_synthetic(tmp_path / "c", ["synth_washer"], n_images=30, seed=4)
    assert _hashes(tmp_path / "a") == _hashes(tmp_path / "b")
    assert _hashes(tmp_path / "a") != _hashes(tmp_path / "c")


def test_normal_images_vary(synth_root):
    for cat in CATEGORIES:
        goods = sorted((synth_root / cat / "train" / "good").glob("*.png"))[:5]
        arrays = [np.asarray(Image.open(p), dtype=float) for p in goods]
        diffs = [np.abs(arrays[0] - a).mean() for a in arrays[1:]]
        assert min(diffs) > 2.0, cat      # pose, light, phase differ between normals

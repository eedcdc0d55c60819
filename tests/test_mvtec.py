import numpy as np
import pandas as pd
import pytest
from PIL import Image

from asal.data.mvtec import prepare_mvtec
from asal.errors import AsalError


def _split_of(dest, cat):
    return pd.read_csv(dest / cat / "manifest.csv", keep_default_na=False)


def test_counts_stratified_and_unique_names(fake_mvtec, tmp_path):
    dest = tmp_path / "data"
    prepare_mvtec(fake_mvtec, dest, ["bottle"], seed=0, progress=False)
    m = _split_of(dest, "bottle")
    assert len(m) == 62
    for label, total in ((0, 50), (1, 12)):
        n_test = ((m.label == label) & (m.split == "test")).sum()
        assert abs(n_test - 0.2 * total) <= 1          # stratified 80 / 20 within one
    # train/good/000.png and test/good/000.png became two distinct files
    assert m.path.is_unique
    names = {p.name for p in (dest / "bottle").rglob("*.png") if "ground_truth" not in p.parts}
    assert len(names) == 62
    assert (m.defect[m.label == 1].isin(["broken", "crack"])).all()


def test_masks_travel_with_their_images(fake_mvtec, tmp_path):
    dest = tmp_path / "data"
    prepare_mvtec(fake_mvtec, dest, ["bottle"], seed=0, progress=False)
    m = _split_of(dest, "bottle")
    for row in m[m.label == 1].itertuples():
        copied = np.asarray(Image.open(dest / row.mask))
        original = np.asarray(Image.open(fake_mvtec / row.mask_source))
        assert np.array_equal(copied, original)
        assert row.mask.split("/")[1] == row.split        # same split as the image
        assert (dest / row.path).exists()
    assert (m["mask"][m.label == 0] == "").all()


def test_same_seed_same_split_other_seed_differs(fake_mvtec, tmp_path):
    a = prepare_mvtec(fake_mvtec, tmp_path / "a", ["bottle"], seed=0, progress=False)["bottle"]
    b = prepare_mvtec(fake_mvtec, tmp_path / "b", ["bottle"], seed=0, progress=False)["bottle"]
    c = prepare_mvtec(fake_mvtec, tmp_path / "c", ["bottle"], seed=1, progress=False)["bottle"]
    assert a.equals(b)

    def train_sources(m):
        return set(m.source[m.split == "train"])

    assert train_sources(a) != train_sources(c)
    # Re-running on the same destination is a no-op, not an error.
    prepare_mvtec(fake_mvtec, tmp_path / "a", ["bottle"], seed=0, progress=False)


def test_refuses_a_destination_with_another_split(fake_mvtec, tmp_path):
    dest = tmp_path / "data"
    prepare_mvtec(fake_mvtec, dest, ["bottle"], seed=0, progress=False)
    before = (dest / "bottle" / "manifest.csv").read_text()
    with pytest.raises(AsalError, match="different split.*--force"):
        prepare_mvtec(fake_mvtec, dest, ["bottle"], seed=1, progress=False)
    assert (dest / "bottle" / "manifest.csv").read_text() == before   # nothing damaged
    prepare_mvtec(fake_mvtec, dest, ["bottle"], seed=1, force=True, progress=False)
    assert (dest / "bottle" / "manifest.csv").read_text() != before


def test_all_categories_found_and_missing_source_named(fake_mvtec, tmp_path):
    result = prepare_mvtec(fake_mvtec, tmp_path / "data", progress=False)
    assert sorted(result) == ["bottle", "screw"]
    with pytest.raises(AsalError, match="does not exist"):
        prepare_mvtec(tmp_path / "nowhere", tmp_path / "data")


def test_a_workflow_rerun_after_removing_the_manifest_restores_it(fake_mvtec, tmp_path):
    """Snakemake removes the manifest before rerunning the step: intact images and masks
    get it back; a folder missing one mask is refused, as any other split is."""
    dest = tmp_path / "data"
    prepare_mvtec(fake_mvtec, dest, ["bottle"], seed=0, progress=False)
    manifest = dest / "bottle" / "manifest.csv"
    written = manifest.read_text()
    manifest.unlink()
    prepare_mvtec(fake_mvtec, dest, ["bottle"], seed=0, progress=False)
    assert manifest.read_text() == written
    mask = next(m for m in _split_of(dest, "bottle")["mask"] if m)
    manifest.unlink()
    (dest / mask).unlink()
    with pytest.raises(AsalError, match="different split"):
        prepare_mvtec(fake_mvtec, dest, ["bottle"], seed=0, progress=False)

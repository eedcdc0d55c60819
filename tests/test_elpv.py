"""prepare-elpv on the installed elpv-dataset package: counts, stratified and seeded
splits, nothing lost or doubled, the defect ratio asked for, and its bad input."""

import builtins

import pandas as pd
import pytest

from asal.__main__ import main
from asal.data.elpv import (DEFECT_THRESHOLD, package_data, parse_category, prepare_elpv,
                            read_package_labels)
from asal.data.folders import list_split
from asal.errors import AsalError

pytest.importorskip("elpv_dataset")


@pytest.fixture(scope="module")
def labels() -> pd.DataFrame:
    return read_package_labels(package_data())


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    dest = tmp_path_factory.mktemp("elpv")
    return dest, prepare_elpv(dest, seed=0)


def test_counts_per_category_and_label_follow_the_documented_rule(labels, prepared):
    dest, result = prepared
    for cat, kind in (("elpv_mono", "mono"), ("elpv_poly", "poly")):
        source = labels[labels.type == kind]
        manifest = result[cat]
        assert len(manifest) == len(source)                      # every image kept
        defects = int((source.probability >= DEFECT_THRESHOLD).sum())
        assert int(manifest.label.sum()) == defects
        # 2/3 and 1 are defects, 0 and 1/3 good
        assert set(manifest.probability[manifest.label == 1].round(3)) == {0.667, 1.0}
        assert set(manifest.probability[manifest.label == 0].round(3)) == {0.0, 0.333}
        on_disk = sum(len(list_split(dest, cat, split)[0]) for split in ("train", "test"))
        assert on_disk == len(source)
    assert {len(result["elpv_mono"]), len(result["elpv_poly"])} == {1074, 1550}


def test_no_image_is_lost_or_duplicated_and_the_split_is_stratified(prepared):
    dest, result = prepared
    for cat, manifest in result.items():
        assert manifest.source.is_unique and manifest.path.is_unique
        shares = manifest.groupby("split").label.mean()
        assert abs(shares["train"] - shares["test"]) < 0.01
        assert (manifest.split == "test").mean() == pytest.approx(0.2, abs=0.002)
        # names say nothing of the label: the package's cellNNNN.png
        assert manifest.path.str.rsplit("/", n=1).str[-1].str.fullmatch(r"cell\d{4}\.png").all()


def test_the_same_seed_gives_the_same_split_and_another_seed_another(tmp_path, prepared):
    _, first = prepared
    again = prepare_elpv(tmp_path / "a", ["elpv_mono"], seed=0)["elpv_mono"]
    other = prepare_elpv(tmp_path / "b", ["elpv_mono"], seed=1)["elpv_mono"]
    assert again.equals(first["elpv_mono"])

    def test_cells(m):
        return set(m.source[m.split == "test"])
    assert test_cells(other) != test_cells(first["elpv_mono"])


def test_the_defect_ratio_is_the_one_asked_for(tmp_path, labels):
    result = prepare_elpv(tmp_path, defect_ratio=0.1, seed=0)
    for cat, kind in (("elpv_mono_10pct", "mono"), ("elpv_poly_10pct", "poly")):
        manifest = result[cat]
        good = int((labels[labels.type == kind].probability < DEFECT_THRESHOLD).sum())
        assert (manifest.label == 0).sum() == good                # every good cell kept
        assert manifest.label.mean() == pytest.approx(0.1, abs=0.002)
    assert parse_category("elpv_poly_10pct") == ("elpv_poly", 0.1)
    assert parse_category("elpv_mono") == ("elpv_mono", None)
    assert parse_category("synth_tiles") is None


def test_a_ratio_above_the_natural_one_is_refused_naming_it(tmp_path, capsys):
    assert main(["prepare-elpv", "--dest", str(tmp_path), "--defect-ratio", "0.5"]) == 2
    err = capsys.readouterr().err
    assert "--defect-ratio 0.5 is outside (0, 0.344]" in err and "34.4% defects" in err
    assert not any(tmp_path.iterdir())


def test_a_destination_holding_other_images_is_not_overwritten(tmp_path):
    prepare_elpv(tmp_path, ["elpv_mono"], seed=0, limit=100)
    before = sorted(p.name for p in (tmp_path / "elpv_mono" / "train" / "good").iterdir())
    with pytest.raises(AsalError, match="already holds other images .* pass --force"):
        prepare_elpv(tmp_path, ["elpv_mono"], seed=1, limit=100)
    after = sorted(p.name for p in (tmp_path / "elpv_mono" / "train" / "good").iterdir())
    assert after == before
    prepare_elpv(tmp_path, ["elpv_mono"], seed=1, limit=100, force=True)


def test_a_workflow_rerun_after_removing_the_manifest_restores_it(tmp_path):
    """Snakemake removes a step's output (the manifest) before running it again: the images
    it finds are the planned ones, so the manifest comes back; one changed image is not."""
    prepare_elpv(tmp_path, ["elpv_mono"], seed=0, limit=100)
    manifest = tmp_path / "elpv_mono" / "manifest.csv"
    written = manifest.read_text()
    manifest.unlink()
    prepare_elpv(tmp_path, ["elpv_mono"], seed=0, limit=100)
    assert manifest.read_text() == written
    manifest.unlink()
    image = next((tmp_path / "elpv_mono" / "train" / "good").iterdir())
    image.write_bytes(image.read_bytes() + b"\0")
    with pytest.raises(AsalError, match="already holds other images"):
        prepare_elpv(tmp_path, ["elpv_mono"], seed=0, limit=100)


def test_without_the_package_one_sentence_names_the_extra(monkeypatch, tmp_path, capsys):
    real = builtins.__import__

    def no_elpv(name, *args, **kwargs):
        if name == "elpv_dataset":
            raise ImportError("No module named 'elpv_dataset'")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_elpv)
    assert main(["prepare-elpv", "--dest", str(tmp_path)]) == 2
    assert 'run `pip install -e ".[elpv]"`' in capsys.readouterr().err

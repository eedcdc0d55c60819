"""A pool nobody has sorted (train/unlabeled/): stages 00-03 on it, and its bad input."""

import json
import shutil

import pandas as pd
import pytest
from PIL import Image

from asal.config.layout import al_dir, labels_path
from asal.config.profiles import resolve
from asal.data.folders import UNKNOWN, list_split
from asal.data.images import load_split
from asal.data.labels import set_labels
from asal.errors import AsalError
from asal.stages.active_learning.loop import run_active_learning
from asal.stages.batches import make_batches
from asal.stages.pretext import run_pretext
from asal.stages.scores import run_scores


def own_cfg(root, runs, **kw):
    base = dict(category="own", data_root=str(root), runs_root=str(runs), image_size=32,
                device="cpu", draem_epochs=1, draem_recon_width=4, draem_disc_width=4,
                draem_score_filter=3, cycles=3, epochs=2, pretrained="none",
                freeze_body=False, head="adam", oracle="file")
    return resolve(**{**base, **kw})


def test_the_pool_is_listed_without_labels(unlabeled_root):
    paths, labels = list_split(unlabeled_root, "own", "train")
    assert len(paths) == 160 and set(labels) == {UNKNOWN}
    assert not load_split(unlabeled_root, "own", "train", 32).labeled


def test_stages_01_to_03_run_on_an_unlabeled_pool_without_a_test_split(unlabeled_root,
                                                                      tmp_path, capsys):
    truth = pd.read_csv(unlabeled_root / "truth.csv").set_index("path").label.to_dict()
    cfg = own_cfg(unlabeled_root, tmp_path)
    run = run_scores(cfg, progress=False)
    metrics = json.loads((run.out_dir / "metrics.json").read_text())
    assert metrics["pool_image_auroc"] is None and metrics["test_image_auroc"] is None
    assert set(metrics["left_out"]) == {"pool_image_auroc", "test_image_auroc",
                                        "test_pixel_auroc"}
    assert "unlabeled" in metrics["left_out"]["pool_image_auroc"]
    scores = pd.read_csv(run.out_dir / "scores.csv")
    assert len(scores) == 160 and scores.label.isna().all()
    assert not (run.out_dir / "test_scores.csv").exists()
    with pytest.raises(AsalError, match="unlabeled .*use train_on='mixed'"):
        run_scores(own_cfg(unlabeled_root, tmp_path, train_on="normal"), progress=False)

    batches = make_batches(cfg)
    assert len(batches) == 160 and batches.label.isna().all()

    with pytest.raises(AsalError, match="-p oracle file"):
        run_active_learning(own_cfg(unlabeled_root, tmp_path, oracle="folders"), progress=False)
    with pytest.raises(AsalError, match="no test split|has none"):
        run_active_learning(own_cfg(unlabeled_root, tmp_path, protocol="paper"),
                            progress=False)
    rounds = 0
    while not (result := run_active_learning(cfg, progress=False)).finished:
        rounds += 1
        set_labels(labels_path(cfg), {k: truth[k] for k in result.to_label}, truth)
    assert rounds == 3                  # the initial set, then one query per later cycle
    cycles = pd.read_csv(al_dir(cfg) / "metrics_cycle.csv")
    assert cycles.n_labels.tolist() == [10, 11, 12]
    assert cycles.auroc.isna().all() and cycles.accuracy.isna().all()   # no test split
    assert cycles.n_anomalies.iloc[-1] == sum(truth[k] for k in result.labeled)
    assert (labels_path(cfg)).read_text().count("\n") == 13            # header + 12 labels


def test_a_test_split_gives_test_metrics(unlabeled_root, synth_root, tmp_path):
    root = tmp_path / "data"
    shutil.copytree(unlabeled_root / "own", root / "own")
    shutil.copytree(synth_root / "synth_washer" / "test", root / "own" / "test")
    run = run_scores(own_cfg(root, tmp_path / "runs"), progress=False)
    assert run.metrics["test_image_auroc"] is not None
    assert set(run.metrics["left_out"]) == {"pool_image_auroc"}


def test_pretext_on_an_unlabeled_pool_leaves_the_probe_out(unlabeled_root, tmp_path):
    cfg = own_cfg(unlabeled_root, tmp_path, synthesis_epochs=1, pretext_batch_size=32)
    metrics = run_pretext(cfg, progress=False)
    assert "linear_probe_auroc" not in metrics
    assert "unlabeled" in metrics["left_out"]["representation_quality"]


@pytest.mark.parametrize("setup, message", [
    (lambda d: None, "it is empty"),
    (lambda d: (d / "notes.txt").write_text("x"), "none of the suffixes"),
    (lambda d: (d / "line1").mkdir() or Image.new("RGB", (8, 8)).save(d / "line1" / "a.png"),
     "lie in subfolders"),
])
def test_an_unlabeled_folder_without_images_is_named(tmp_path, setup, message):
    folder = tmp_path / "own" / "train" / "unlabeled"
    folder.mkdir(parents=True)
    setup(folder)
    with pytest.raises(AsalError, match=message):
        list_split(tmp_path, "own", "train")


def test_an_unreadable_image_is_named(tmp_path):
    folder = tmp_path / "own" / "train" / "unlabeled"
    folder.mkdir(parents=True)
    (folder / "broken.png").write_bytes(b"not a png")
    with pytest.raises(AsalError, match="Cannot read image .*broken.png"):
        load_split(tmp_path, "own", "train", 32, cache=False)


def test_unlabeled_and_sorted_images_in_one_pool_are_refused(tmp_path):
    for sub in ("unlabeled", "good"):
        (tmp_path / "own" / "train" / sub).mkdir(parents=True)
        Image.new("RGB", (8, 8)).save(tmp_path / "own" / "train" / sub / "a.png")
    with pytest.raises(AsalError, match="both unlabeled/ and good/ .*labels.csv"):
        list_split(tmp_path, "own", "train")


def test_the_notebooks_stop_and_continue_on_labels(unlabeled_root, tmp_path):
    """03 with oracle file ends normally where it needs labels; 05 shows them; 03 goes on."""
    import papermill

    from asal.project import PROJECT_ROOT

    truth = pd.read_csv(unlabeled_root / "truth.csv").set_index("path").label.to_dict()
    cfg = own_cfg(unlabeled_root, tmp_path)
    run_scores(cfg, progress=False)
    make_batches(cfg)
    params = dict(category="own", data_root=str(unlabeled_root), runs_root=str(tmp_path),
                  image_size=32, device="cpu", cycles=3, epochs=2, pretrained="none",
                  freeze_body=False, head="adam", oracle="file")

    def notebook(name, **kw):
        out = tmp_path / f"{name}-{len(list(tmp_path.glob('*.ipynb')))}.ipynb"
        nb = papermill.execute_notebook(PROJECT_ROOT / "notebooks" / f"{name}.ipynb", out,
                                        parameters=kw, kernel_name="python3",
                                        progress_bar=False, cwd=str(tmp_path))
        return "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))

    text = notebook("03_active_learning", **params)
    assert "10 images need a label before the initial set" in text
    assert "No cycle is trained yet" in text and "Compared once the run is finished" in text
    text = notebook("05_label", category="own", data_root=str(unlabeled_root),
                    runs_root=str(tmp_path))
    assert "10 images asked for" in text and "1 of 10 (0 labeled)" in text
    set_labels(labels_path(cfg), {k: truth[k] for k in result_keys(cfg)}, truth)
    text = notebook("03_active_learning", **params)
    assert "1 image needs a label before cycle 1" in text
    assert "No test metrics: the category has no test split" in text


def result_keys(cfg):
    from asal.data.labels import read_to_label
    return read_to_label(al_dir(cfg))

"""A finished run as a tool: its self-describing model.pt, predict, and the ONNX export."""

import os
import shutil
import stat
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from sklearn.metrics import roc_auc_score

from asal.__main__ import main
from asal.config.layout import al_dir, batches_dir, scores_dir
from asal.config.profiles import resolve
from asal.errors import AsalError
from asal.project import PROJECT_ROOT
from asal.stages.active_learning.loop import run_active_learning
from asal.stages.artefact import Classifier, load_artefact
from asal.stages.batches import make_batches
from asal.stages.predict import export_onnx, predict
from asal.stages.scores import run_scores

CAT = "synth_fabric"


def _cfg(data_root, runs, **kw):
    # ELPV's recipe: a random body, frozen, and a logistic head; the network learner on 32 px
    # and 2 epochs gives every image one probability, which would make the AUROC test empty
    base = dict(category=CAT, data_root=str(data_root), runs_root=str(runs), image_size=32,
                cycles=3, device="cpu", pretrained="none", freeze_body=True, head="lbfgs",
                head_balanced=True, draem_epochs=1, draem_recon_width=2,
                draem_disc_width=2, draem_batch_size=16)
    return resolve(**{**base, **kw})


@pytest.fixture(scope="module")
def finished(synth_root, tmp_path_factory):
    """A finished 3-cycle run whose pool a (one-epoch) DRAEM ranked."""
    runs = tmp_path_factory.mktemp("runs")
    cfg = _cfg(synth_root, runs)
    run_scores(cfg, progress=False)
    make_batches(cfg)
    return cfg, run_active_learning(cfg, progress=False)


def test_predict_reproduces_the_runs_test_auroc_and_drams_scores(finished, synth_root):
    cfg, result = finished
    frame = predict(al_dir(cfg), [synth_root / CAT / "test"])
    assert len(frame) == len(result.pool.paths) // 4        # the test split, masks left out
    assert not frame.path.str.contains("ground_truth").any()
    truth = frame.path.str.contains("/test/anomaly/").astype(int)
    assert frame.p_defect.nunique() == len(frame) and result.cycles.auroc.iloc[-1] != 0.5
    # the run scored cached float64 features; predict the whole float32 network
    assert roc_auc_score(truth, frame.p_defect) == pytest.approx(result.cycles.auroc.iloc[-1],
                                                                 abs=1e-9)
    artefact = load_artefact(al_dir(cfg))
    assert set(frame.predicted) <= {"good", "defect"}
    at_threshold = frame.p_defect >= artefact["threshold"]
    assert (frame.predicted == "defect").tolist() == at_threshold.tolist()
    theirs = pd.read_csv(scores_dir(cfg) / "test_scores.csv")
    ours = dict(zip(frame.path.str.split(f"{synth_root}/").str[1], frame.anomaly_score))
    assert np.allclose([ours[p] for p in theirs.path], theirs.score, atol=1e-6)


def test_the_artefact_describes_its_input(finished):
    cfg, result = finished
    a = load_artefact(al_dir(cfg))
    assert (a["image_size"], a["grayscale"], a["class_names"]) == (32, False, ["good", "defect"])
    assert a["normalize_mean"] == list(cfg.normalize_mean)
    assert a["labeled_images"] == len(result.labeled) == 12
    assert "never chosen on a test split" in a["threshold_rule"] and 0 < a["threshold"] < 1


def test_swapping_the_test_labels_leaves_the_threshold(finished, synth_root, tmp_path,
                                                      swapped_test_labels):
    cfg, result = finished
    swapped = swapped_test_labels(synth_root, CAT)
    other = _cfg(swapped, tmp_path / "runs",
                 batches_dir=str(batches_dir(cfg)))
    flipped = run_active_learning(other, progress=False)
    assert flipped.cycles.auroc.iloc[-1] == pytest.approx(1 - result.cycles.auroc.iloc[-1])
    assert load_artefact(al_dir(other))["threshold"] == load_artefact(al_dir(cfg))["threshold"]


def test_the_onnx_export_gives_the_runs_probabilities(finished, synth_root, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    cfg, _ = finished
    out = export_onnx(al_dir(cfg), tmp_path / "model.onnx")
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    from asal.data.images import load_split

    test = load_split(synth_root, CAT, "test", 32)
    exported = session.run(None, {"images": test.images.numpy()})[0]
    assert np.abs(exported - Classifier.load(al_dir(cfg)).p_defect(test.images)).max() < 1e-5
    meta = {p.key: p.value for p in __import__("onnx").load(str(out)).metadata_props}
    assert float(meta["threshold"]) == load_artefact(al_dir(cfg))["threshold"]
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(out.stat().st_mode) == 0o666 & ~umask     # as any other output


def test_bad_input_is_named(finished, tmp_path, capsys):
    cfg, _ = finished
    with pytest.raises(AsalError, match="holds no images"):
        predict(al_dir(cfg), [tmp_path])
    with pytest.raises(AsalError, match="does not exist"):
        predict(al_dir(cfg), [tmp_path / "nowhere"])
    # images like the pool's are converted without a word; another size and mode is said
    predict(al_dir(cfg), [Path(cfg.data_root) / CAT / "test" / "good"])
    assert "differ" not in capsys.readouterr().out
    Image.fromarray(np.full((20, 40), 128, np.uint8)).save(tmp_path / "wide.png")
    frame = predict(al_dir(cfg), [tmp_path / "wide.png"])
    said = capsys.readouterr().out
    assert len(frame) == 1 and "1 of the 1 images differ in size or colour mode from the " \
        "run's pool (128 x 128 px RGB; first: wide.png, 40 x 20 px L)" in said


def test_each_folder_that_is_no_finished_run_is_told_apart(finished, tmp_path):
    """A scores folder, a pretext folder, a category's folder, a cloned run without its
    model.pt and an unfinished run: each its own sentence, saying what to give instead."""
    import shutil

    from asal.config.layout import pretext_dir
    from asal.stages.pretext import run_pretext

    cfg, _ = finished

    def said(folder) -> str:
        with pytest.raises(AsalError) as err:
            Classifier.load(folder)
        return str(err.value)

    assert "holds anomaly scores (stage 01" in said(scores_dir(cfg))
    rotation = _cfg(cfg.data_root, tmp_path / "pre", pretext_task="rotation", rotation_epochs=1)
    run_pretext(rotation, progress=False)
    assert "holds a pretext network (stage 00" in said(pretext_dir(rotation))
    category = al_dir(cfg).parents[3]
    assert "holds runs below it, not one run; give a finished active-learning run's folder" \
        in said(category) and f"(such as {al_dir(cfg)})" in said(category)
    cloned = tmp_path / "cloned"
    shutil.copytree(al_dir(cfg), cloned, ignore=shutil.ignore_patterns("*.pt"))
    assert "is a finished run whose model.pt is not on this disk: model.pt files are never " \
           "committed (git ignores runs/**/*.pt)" in said(cloned)
    unfinished = _cfg(cfg.data_root, tmp_path / "runs", cycles=3,
                      batches_dir=str(batches_dir(cfg)))
    run_active_learning(unfinished, progress=False, stop_after_cycle=1)
    assert "is an active-learning run that is not finished (1 of its 3 cycles are done), so " \
           "it has no model.pt yet" in said(al_dir(unfinished))
    (tmp_path / "empty").mkdir()
    assert "is not a run folder of asal" in said(tmp_path / "empty")
    # the run's own words for a committed run of the project, as a clone has it
    committed = tmp_path / "committed"
    shutil.copytree(PROJECT_ROOT / "runs/elpv/elpv_mono/al/asal/least_confidence/seed0",
                    committed, ignore=shutil.ignore_patterns("*.pt"))
    assert "is a finished run whose model.pt is not on this disk" in said(committed)


def test_unreadable_images_stop_or_are_skipped_and_listed(finished, tmp_path, capsys):
    cfg, _ = finished
    parts = tmp_path / "parts"
    shutil.copytree(Path(cfg.data_root) / CAT / "test" / "good", parts)
    (parts / "broken.png").write_bytes(b"not an image")
    with pytest.raises(AsalError, match=r"Cannot read image .*broken\.png \(cannot identify "
                                        r"image file .*\); .*, or pass --skip-unreadable"):
        predict(al_dir(cfg), [parts])
    frame = predict(al_dir(cfg), [parts], skip_unreadable=True)
    assert len(frame) == len(list(parts.glob("*.png"))) - 1
    assert [p.name for p, _ in frame.attrs["skipped"]] == ["broken.png"]
    capsys.readouterr()
    out = tmp_path / "p.csv"
    assert main(["predict", str(al_dir(cfg)), str(parts), "--out", str(out),
                 "--skip-unreadable"]) == 3
    err = capsys.readouterr().err
    assert "1 file could not be read and was skipped (exit status 3)" in err
    assert f"{parts / 'broken.png'}: cannot identify image file" in err
    assert len(pd.read_csv(out)) == len(frame)


def test_out_naming_a_folder_is_one_sentence_and_outputs_are_readable_by_all(
        finished, tmp_path, capsys):
    cfg, _ = finished
    parts = Path(cfg.data_root) / CAT / "test" / "good"
    assert main(["predict", str(al_dir(cfg)), str(parts), "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err == (f"error: --out {tmp_path} is a folder; give the name "
                                       "of the CSV to write, such as "
                                       f"{tmp_path / 'predictions.csv'}.\n")
    old = os.umask(0o022)
    try:
        assert main(["predict", str(al_dir(cfg)), str(parts), "--out",
                     str(tmp_path / "p.csv")]) == 0
        mode = stat.S_IMODE((tmp_path / "p.csv").stat().st_mode)
    finally:
        os.umask(old)
    assert mode == 0o644


def test_the_commands(finished, synth_root, tmp_path, capsys):
    cfg, _ = finished
    out = tmp_path / "p.csv"
    assert main(["predict", str(al_dir(cfg)), str(synth_root / CAT / "test" / "good"),
                 "--out", str(out)]) == 0
    frame = pd.read_csv(out)
    assert list(frame.columns) == ["path", "p_defect", "predicted", "anomaly_score"]
    assert "images scored in" in capsys.readouterr().err
    assert main(["predict", str(tmp_path), str(out)]) == 2
    assert "is not a run folder of asal" in capsys.readouterr().err

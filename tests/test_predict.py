"""A finished run as a tool: its self-describing model.pt, predict, and the ONNX export."""

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from sklearn.metrics import roc_auc_score

from asal.__main__ import main
from asal.config.layout import al_dir, scores_dir
from asal.config.profiles import resolve
from asal.errors import AsalError
from asal.models.threshold import labeled_threshold
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
    assert "labeled images" in a["threshold_rule"] and 0 < a["threshold"] < 1


def test_swapping_the_test_labels_leaves_the_threshold(finished, synth_root, tmp_path,
                                                      swapped_test_labels):
    cfg, result = finished
    swapped = swapped_test_labels(synth_root, CAT)
    other = _cfg(swapped, tmp_path / "runs",
                 batches_dir=str(al_dir(cfg).parents[3] / "batches" / "seed0"))
    flipped = run_active_learning(other, progress=False)
    assert flipped.cycles.auroc.iloc[-1] == pytest.approx(1 - result.cycles.auroc.iloc[-1])
    assert load_artefact(al_dir(other))["threshold"] == load_artefact(al_dir(cfg))["threshold"]


def test_the_threshold_rule_on_labeled_probabilities():
    assert labeled_threshold([0.1, 0.2, 0.7, 0.9], [0, 0, 1, 1])[0] == pytest.approx(0.45)
    # one good image above a defect: the best balanced accuracy, nearest 0.5
    t, _ = labeled_threshold([0.1, 0.6, 0.55, 0.9], [0, 0, 1, 1])
    assert t == pytest.approx(0.575) or t == pytest.approx(0.325)
    assert labeled_threshold([0.3, 0.4], [0, 0])[0] == 0.5


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


def test_bad_input_is_named(finished, tmp_path, capsys):
    cfg, _ = finished
    with pytest.raises(AsalError, match="holds no images"):
        predict(al_dir(cfg), [tmp_path])
    with pytest.raises(AsalError, match="does not exist"):
        predict(al_dir(cfg), [tmp_path / "nowhere"])
    unfinished = _cfg(cfg.data_root, tmp_path / "runs", cycles=3,
                      batches_dir=str(al_dir(cfg).parents[3] / "batches" / "seed0"))
    run_active_learning(unfinished, progress=False, stop_after_cycle=1)
    with pytest.raises(AsalError, match=r"not a finished run \(1 of its 3 cycles"):
        predict(al_dir(unfinished), [tmp_path])
    # an image of another size and mode is converted as in training, said once
    Image.fromarray(np.full((20, 40), 128, np.uint8)).save(tmp_path / "wide.png")
    frame = predict(al_dir(cfg), [tmp_path / "wide.png"])
    said = capsys.readouterr().out
    assert len(frame) == 1 and "1 of the 1 images are not 32 x 32 px RGB" in said


def test_the_commands(finished, synth_root, tmp_path, capsys):
    cfg, _ = finished
    out = tmp_path / "p.csv"
    assert main(["predict", str(al_dir(cfg)), str(synth_root / CAT / "test" / "good"),
                 "--out", str(out)]) == 0
    frame = pd.read_csv(out)
    assert list(frame.columns) == ["path", "p_defect", "predicted", "anomaly_score"]
    assert "images scored in" in capsys.readouterr().err
    assert main(["predict", str(tmp_path), str(out)]) == 2
    assert "not a run folder" in capsys.readouterr().err

"""The supervised ceiling: trained on every pool label, never on a test label."""

import pytest
import torch

from asal.config.layout import ceiling_dir
from asal.config.profiles import resolve
from asal.errors import AsalError
from asal.stages.artefact import load_artefact
from asal.stages.batches import make_batches
from asal.stages.ceiling import run_ceiling
from asal.stages.scores import run_scores

CAT = "synth_tiles"


def _cfg(root, runs, **kw):
    return resolve(**{**dict(category=CAT, data_root=str(root), runs_root=str(runs),
                             image_size=32, pretrained="none", freeze_body=True, head="lbfgs",
                             head_c=1.0, device="cpu", cpu_threads=1), **kw})


def test_swapping_the_test_labels_leaves_the_ceilings_weights_unchanged(synth_root, tmp_path,
                                                                     swapped_test_labels):
    swapped = swapped_test_labels(synth_root, CAT)
    plain = run_ceiling(_cfg(synth_root, tmp_path / "a"))
    flipped = run_ceiling(_cfg(swapped, tmp_path / "b"))
    a = load_artefact(ceiling_dir(_cfg(synth_root, tmp_path / "a")))["state_dict"]
    b = load_artefact(ceiling_dir(_cfg(swapped, tmp_path / "b")))["state_dict"]
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert plain["pool_labels"] == 160 and plain["train_loss"] < 0.35
    assert flipped["auroc"] == pytest.approx(1 - plain["auroc"])      # the test labels moved


def test_a_ceiling_asked_of_a_persons_labels_is_refused(unlabeled_root, tmp_path):
    cfg = resolve(category="own", data_root=str(unlabeled_root), runs_root=str(tmp_path),
                  image_size=32, pretrained="none", freeze_body=True, head="lbfgs",
                  oracle="file", device="cpu")
    with pytest.raises(AsalError, match="ceiling trains on every pool label, and oracle 'file'"):
        run_ceiling(cfg)
    with pytest.raises(AsalError, match="pool of own is unlabeled"):
        run_ceiling(cfg.model_copy(update={"oracle": "folders"}))


def test_the_evidence_ceiling_reports_its_parts_alone(synth_root, tmp_path):
    """Beside the ceiling: the scorer alone (its own test AUROC, as 01 measured it) and the
    features-only head on the same frozen features; the lbfgs ceiling has no scorer part."""
    cfg = _cfg(synth_root, tmp_path, head="evidence", cycles=2)
    scores = run_scores(cfg, progress=False)
    make_batches(cfg)
    m = run_ceiling(cfg)
    assert m["scorer_auroc"] == pytest.approx(scores.metrics["test_image_auroc"], abs=1e-12)
    plain = run_ceiling(_cfg(synth_root, tmp_path / "lbfgs"))
    assert "scorer_auroc" not in plain
    assert 0.5 < m["features_only_auroc"] == plain["features_only_auroc"] <= 1

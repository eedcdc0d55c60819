"""The learners' contract (asal/stages/active_learning/learners/), over every registered
learner: deterministic, blind to every label but those it is given, working on a labeled
set of one class, and the same p(defect) in the loop, in `predict` and in the ONNX export.
"""

from pathlib import Path

import numpy as np
import pytest
import torch

from asal.config.layout import al_dir
from asal.config.profiles import resolve
from asal.data.images import UNKNOWN, Split
from asal.models.networks import Timer
from asal.models.learner_names import FROZEN, LEARNER_NAMES, READS_EVIDENCE
from asal.runtime import configure
from asal.stages.active_learning import pretext_inputs
from asal.stages.active_learning.inputs import load_loop_data
from asal.stages.active_learning.learners import LEARNERS
from asal.stages.active_learning.learners.linear import LinearLearner
from asal.stages.active_learning.loop import Loop, run_active_learning
from asal.stages.batches import make_batches
from asal.stages.predict import export_onnx, predict
from asal.stages.scores import run_scores

CAT = "synth_fabric"
# what each learner needs beside its name: the network trains its whole body
SETTINGS = {"adam": dict(freeze_body=False, epochs=2),
            "lbfgs": dict(freeze_body=True, head_balanced=True),
            "evidence": dict(freeze_body=True)}


def test_the_names_are_the_registry():
    assert tuple(LEARNERS) == LEARNER_NAMES == tuple(SETTINGS)
    assert all(issubclass(LEARNERS[n], LinearLearner) for n in FROZEN)
    assert set(READS_EVIDENCE) <= set(FROZEN)


@pytest.fixture(scope="module")
def scored(synth_root, tmp_path_factory):
    """A category ranked by the default scorer, which can score new images: a function of
    the learner's name (and more parameters) giving the run's parameters."""
    runs = tmp_path_factory.mktemp("runs")

    def cfg(head, **kw):
        base = dict(category=CAT, data_root=str(synth_root), runs_root=str(runs),
                    image_size=32, cycles=2, device="cpu", pretrained="none", head=head)
        return resolve(**{**base, **SETTINGS[head], **kw})

    first = cfg("lbfgs")
    run_scores(first, progress=False)
    make_batches(first)
    return cfg


def learner_of(cfg, pool: Split | None = None):
    """A fresh learner, as the loop makes it; on `pool` instead of the category's own."""
    loaded, test, _ = load_loop_data(cfg)
    pool = loaded if pool is None else pool
    return LEARNERS[cfg.head](cfg, pretext_inputs.initial_weights(cfg, pool), pool, test,
                              configure(cfg)), loaded


def both_classes(pool: Split, n: int = 12) -> tuple[list[int], list[int]]:
    """n pool positions, a third of them defects, and their labels."""
    labels = pool.labels.numpy()
    picked = list(np.flatnonzero(labels == 1)[: n // 3]) + \
        list(np.flatnonzero(labels == 0)[: n - n // 3])
    return [int(i) for i in picked], [int(labels[i]) for i in picked]


def trained_logits(learner, labeled, labels) -> torch.Tensor:
    """The test logits after one cycle's fit on the labeled positions."""
    fit = learner.train(None, 0, labeled, labels, torch.Generator().manual_seed(0),
                        Timer(torch.device("cpu")), evaluate=lambda logits: {})
    return learner.logits(fit.state, 0, "test"), fit.state


@pytest.mark.parametrize("head", LEARNER_NAMES)
def test_deterministic(scored, head):
    cfg = scored(head)
    first, pool = learner_of(cfg)
    labeled, labels = both_classes(pool)
    again, _ = learner_of(cfg)
    a, _ = trained_logits(first, labeled, labels)
    b, _ = trained_logits(again, labeled, labels)
    assert torch.equal(a, b)
    assert a.shape == (len(again.test), 2) and torch.isfinite(a).all()


@pytest.mark.parametrize("head", LEARNER_NAMES)
def test_label_blind(scored, head):
    """A pool whose every label is unknown gives the same classifier for the same labeled
    positions and labels: a learner reads no label it is not given."""
    cfg = scored(head)
    seen, pool = learner_of(cfg)
    labeled, labels = both_classes(pool)
    blind = Split(pool.images, torch.full_like(pool.labels, UNKNOWN), pool.paths, pool.sizes)
    unseen, _ = learner_of(cfg, blind)
    assert torch.equal(trained_logits(seen, labeled, labels)[0],
                       trained_logits(unseen, labeled, labels)[0])


@pytest.mark.parametrize("head", LEARNER_NAMES)
def test_a_labeled_set_of_one_class(scored, head):
    """Good images only: probabilities and a threshold (the network's may reach 0 on one
    class); a learner that reads the scorer's evidence then ranks the test split as the
    scorer does."""
    cfg = scored(head)
    learner, pool = learner_of(cfg)
    good = [int(i) for i in np.flatnonzero(pool.labels.numpy() == 0)[:8]]
    logits, state = trained_logits(learner, good, [0] * len(good))
    p = torch.softmax(logits.double(), 1)[:, 1].numpy()
    assert np.isfinite(p).all() and ((p >= 0) & (p < 1)).all()
    threshold, rule = learner.threshold(state, 0, good, [0] * len(good))
    assert 0 <= threshold < 1 and "never chosen on a test split" in rule
    if head in READS_EVIDENCE:
        z = learner.z["test"]
        assert np.array_equal(np.argsort(p, kind="stable"), np.argsort(z, kind="stable"))


@pytest.fixture(scope="module")
def finished(scored):
    """A finished 2-cycle run of every learner, and its p(defect) of the test split as the
    loop computes it, by file (the folder and the name)."""
    runs = {}
    for head in LEARNER_NAMES:
        cfg = scored(head, exp=f"contract_{head}")     # a run folder of its own
        run_scores(cfg, progress=False)
        make_batches(cfg)
        run_active_learning(cfg, progress=False)
        loop = Loop(cfg, progress=False)
        loop.resume()
        p = loop.learner.p_defect(loop.state.model_state, loop.state.cycle, "test")
        runs[head] = cfg, dict(zip((tail(x) for x in loop.test.paths), p))
    return runs


def tail(path) -> str:
    return "/".join(Path(path).parts[-2:])


@pytest.mark.parametrize("head", LEARNER_NAMES)
def test_predict_gives_the_loops_p_defect(finished, synth_root, head):
    cfg, loops = finished[head]
    frame = predict(al_dir(cfg), [synth_root / CAT / "test"])
    assert sorted(map(tail, frame.path)) == sorted(loops)
    gap = max(abs(p - loops[tail(f)]) for f, p in zip(frame.path, frame.p_defect))
    assert gap < 1e-6


@pytest.mark.parametrize("head", LEARNER_NAMES)
def test_the_onnx_export_gives_the_loops_p_defect(finished, synth_root, tmp_path, head):
    ort = pytest.importorskip("onnxruntime")
    cfg, loops = finished[head]
    frame = predict(al_dir(cfg), [synth_root / CAT / "test"])
    from asal.data.images import load_split

    test = load_split(synth_root, CAT, "test", 32)
    session = ort.InferenceSession(str(export_onnx(al_dir(cfg), tmp_path / "m.onnx")),
                                   providers=["CPUExecutionProvider"])
    feed = {"images": test.images.numpy()}
    if head in READS_EVIDENCE:
        by_file = dict(zip(map(tail, frame.path), frame.anomaly_score))
        feed["anomaly_scores"] = np.array([by_file[tail(p)] for p in test.paths])
    exported = session.run(None, feed)[0]
    assert np.abs(exported - np.array([loops[tail(p)] for p in test.paths])).max() < 1e-5


@pytest.mark.parametrize("head", LEARNER_NAMES)
def test_asal_export_says_when_the_file_needs_the_anomaly_scores(finished, tmp_path, capsys,
                                                                  head):
    pytest.importorskip("onnx")
    from asal.__main__ import main

    cfg, _ = finished[head]
    main(["export", str(al_dir(cfg)), "--out", str(tmp_path / "m.onnx")])
    said = capsys.readouterr().out
    assert f"written to {tmp_path / 'm.onnx'}" in said
    assert ("second input, anomaly_scores" in said) == (head in READS_EVIDENCE)

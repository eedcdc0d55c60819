"""Stage 00: pretext batches, resumable training, the cache's settings check, the probes."""

import json

import numpy as np
import pytest
import torch

from asal.config.layout import BACKBONE, ROTATION_SCORES, pretext_dir
from asal.config.profiles import resolve
from asal.data.images import load_split
from asal.data.synthetic import make_synthetic
from asal.data.textures import anomaly_source
from asal.errors import AsalError
from asal.models.networks import Normalizer
from asal.models.pretext import (CHECKPOINT, PretextSettings, build_network,
                                 representation_quality, rotation_losses, rotations, train)
from asal.models.resnet import build_resnet18
from asal.stages.active_learning.pretext_inputs import initial_weights
from asal.stages.pretext import run_pretext

CAT = "synth_tiles"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A 40-image synthetic category at 32 px, and a config factory for it."""
    data = tmp_path_factory.mktemp("data")
    make_synthetic(data, [CAT], n_images=40, size=32, seed=0)

    def cfg(runs, **kw):
        base = dict(category=CAT, data_root=str(data), runs_root=str(runs), image_size=32,
                    synthesis_epochs=2, rotation_epochs=1, pretext_batch_size=8,
                    device="cpu", cpu_threads=1, pretrained="self_supervised", head="adam")
        return resolve(**{**base, **kw})
    return cfg


def test_rotations_turn_every_image_four_times_with_its_quarter_turns_as_target():
    x = torch.arange(2 * 3 * 4 * 4, dtype=torch.float32).view(2, 3, 4, 4)
    turned, target = rotations(x)
    assert turned.shape == (8, 3, 4, 4)
    assert target.tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    assert torch.equal(turned[:2], x)
    assert torch.equal(turned[2], torch.rot90(x[0], 1, dims=(1, 2)))
    assert torch.equal(torch.rot90(turned[6], 1, dims=(1, 2)), x[0])    # 270 + 90 = 360


def test_rotation_loss_is_the_mean_over_the_four_copies():
    torch.manual_seed(0)
    model = build_network(4).eval()
    norm = Normalizer([0.5] * 3, [0.25] * 3, torch.device("cpu"))
    images = torch.randint(0, 255, (3, 3, 32, 32), dtype=torch.uint8)
    got = rotation_losses(model, images, norm)
    x = images.float() / 255
    by_hand = [np.mean([torch.nn.functional.cross_entropy(
        model(norm.scaled(torch.rot90(x[i:i + 1], k, dims=(2, 3)))), torch.tensor([k])).item()
        for k in range(4)]) for i in range(3)]
    assert np.allclose(got, by_hand, atol=1e-5)


def test_probes_score_separable_features_perfectly_and_need_both_classes():
    rng = np.random.default_rng(0)
    y = np.array([0] * 30 + [1] * 10)
    x = rng.normal(size=(40, 16)) + 4 * y[:, None]
    q = representation_quality(x, y, x, y)
    assert q["linear_probe_auroc"] == 1.0 and q["knn_auroc"] == 1.0
    noise = representation_quality(rng.normal(size=(40, 16)), y, rng.normal(size=(40, 16)), y)
    assert noise["linear_probe_auroc"] < 0.9
    assert representation_quality(x, np.zeros(40), x, y)["knn_auroc"] is None


def test_interrupted_training_resumes_to_the_same_network(tiny, tmp_path):
    cfg = tiny(tmp_path)
    images = torch.randint(0, 255, (12, 3, 32, 32), dtype=torch.uint8)
    s = PretextSettings.of(cfg)
    cpu = torch.device("cpu")
    bank = anomaly_source(None, 32, s.seed, cpu, n_procedural=4)
    whole, _ = train(images, s, bank, tmp_path / "a", cpu, progress=False)
    train(images, s, bank, tmp_path / "b", cpu, progress=False, stop_after=1)
    assert (tmp_path / "b" / CHECKPOINT).exists()
    resumed, record = train(images, s, bank, tmp_path / "b", cpu, progress=False)
    assert record["resumed_from"] == 1 and len(record["history"]) == 2
    for (k, a), b in zip(whole.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(a, b), k


def test_stage_00_writes_a_headless_backbone_the_classifier_loads(tiny, tmp_path):
    cfg = tiny(tmp_path)
    metrics = run_pretext(cfg, progress=False)
    out = pretext_dir(cfg)
    assert json.loads((out / "metrics.json").read_text())["fingerprint"] == metrics["fingerprint"]
    for key in ("linear_probe_auroc", "knn_auroc", "scratch_linear_probe_auroc"):
        assert 0 <= metrics[key] <= 1
    assert not (out / CHECKPOINT).exists()
    state = torch.load(out / BACKBONE, weights_only=True)
    assert not [k for k in state if k.startswith("fc.")]
    model = build_resnet18(str(out / BACKBONE))
    assert torch.equal(model.conv1.weight, state["conv1.weight"])
    assert model.fc.out_features == 2
    # a second call reuses the cached network: nothing is trained, nothing rewritten
    stamp = (out / BACKBONE).stat().st_mtime_ns
    assert run_pretext(cfg, progress=False) == metrics
    assert (out / BACKBONE).stat().st_mtime_ns == stamp
    pool = load_split(cfg.data_root, cfg.category, "train", cfg.image_size)
    assert initial_weights(cfg, pool) == str(out / BACKBONE)


def test_a_backbone_of_other_settings_is_refused_by_00_and_03(tiny, tmp_path):
    cfg = tiny(tmp_path)
    run_pretext(cfg, progress=False)
    before = {p.name: p.read_bytes() for p in pretext_dir(cfg).iterdir()}
    other = tiny(tmp_path, pretext_lr=0.01)
    with pytest.raises(AsalError, match=r"made with pretext_lr=0\.001, and this one asks for "
                                        r"pretext_lr=0\.01; pass -p exp"):
        run_pretext(other, progress=False)
    assert {p.name: p.read_bytes() for p in pretext_dir(cfg).iterdir()} == before
    pool = load_split(cfg.data_root, cfg.category, "train", cfg.image_size)
    with pytest.raises(AsalError, match=r"trained with pretext_lr=0\.001, and this run has "
                                        r"0\.01; run notebooks/00_pretext.ipynb"):
        initial_weights(other, pool)
    # another pretext seed is another network, in a folder of its own
    seeded = tiny(tmp_path, pretext_seed=1)
    run_pretext(seeded, progress=False)
    assert pretext_dir(seeded) != pretext_dir(cfg)
    assert initial_weights(seeded, pool) == str(pretext_dir(seeded) / BACKBONE)


def test_03_without_its_pretext_network_names_00(tiny, tmp_path):
    cfg = tiny(tmp_path)
    pool = load_split(cfg.data_root, cfg.category, "train", cfg.image_size)
    with pytest.raises(AsalError, match=r"No synthesis pretext network for .* run "
                                        r"notebooks/00_pretext.ipynb with -p category"):
        initial_weights(cfg, pool)


def test_rotation_task_writes_pt4al_scores_for_every_pool_image(tiny, tmp_path):
    cfg = tiny(tmp_path, pretext_task="rotation")
    metrics = run_pretext(cfg, progress=False)
    assert metrics["task"] == "rotation"
    import pandas as pd
    scores = pd.read_csv(pretext_dir(cfg) / ROTATION_SCORES)
    assert len(scores) == metrics["train_images"] == 32           # the 0.8 pool of 40
    assert (scores.score > 0).all() and scores.path.is_unique


def test_unknown_pretext_task_is_named():
    with pytest.raises(AsalError, match="pretext_task"):
        resolve(category=CAT, pretext_task="jigsaw")

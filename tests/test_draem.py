import pandas as pd
import pytest
import torch

from asal.config.profiles import resolve
from asal.data.textures import anomaly_source, load_source_folder
from asal.errors import AsalError
from asal.models.scorers import Fitting
from asal.models.scorers.draem.network import Draem
from asal.models.scorers.draem.scorer import DraemScorer, image_scores
from asal.models.scorers.draem.synthesis import blend, perlin_masks, synthesize
from asal.stages.scores import run_scores

CPU = torch.device("cpu")


def test_perlin_masks_are_binary_and_shaped():
    gen = torch.Generator().manual_seed(0)
    masks = perlin_masks(16, 64, gen, CPU)
    assert masks.shape == (16, 1, 64, 64)
    assert set(masks.unique().tolist()) <= {0.0, 1.0}
    assert masks.sum() > 0


def test_clean_samples_have_empty_masks_and_are_unchanged():
    gen = torch.Generator().manual_seed(1)
    images = torch.rand(32, 3, 64, 64)
    bank = anomaly_source(None, 64, 0, CPU, n_procedural=8)
    s = synthesize(images, bank, gen)
    assert s.mask.shape == (32, 1, 64, 64)
    assert set(s.mask.unique().tolist()) <= {0.0, 1.0}
    clean = s.label == 0
    assert 0 < clean.sum() < 32
    assert s.mask[clean].sum() == 0
    assert torch.equal(s.image[clean], s.target[clean])
    outside = (s.mask == 0).expand_as(s.image)
    assert torch.equal(s.image[outside], s.target[outside])


def test_blend_changes_only_pixels_inside_the_mask():
    image, source = torch.rand(2, 3, 8, 8), torch.rand(2, 3, 8, 8)
    mask = torch.zeros(2, 1, 8, 8)
    mask[:, :, 2:5, 3:6] = 1
    out = blend(image, source, mask, torch.tensor([0.0, 0.5]))
    inside = mask.bool().expand_as(image)
    assert torch.equal(out[~inside], image[~inside])
    assert torch.allclose(out[0][inside[0]], source[0][inside[0]])      # beta 0: the source
    assert torch.allclose(out[1][inside[1]], (0.5 * source[1] + 0.5 * image[1])[inside[1]])


def test_mean_filter_score_counts_the_zero_padding():
    maps = torch.zeros(2, 5, 5)
    maps[0, 2, 2] = 1.0           # centre: every 3x3 window holding it averages 9 cells
    maps[1, 0, 0] = 0.9           # corner: padding zeros are counted, so still / 9
    assert torch.allclose(image_scores(maps, 3), torch.tensor([1 / 9, 0.9 / 9]))
    assert torch.allclose(image_scores(maps, 1), torch.tensor([1.0, 0.9]))


def test_networks_have_the_papers_size():
    model = Draem(128, 64)
    count = lambda m: sum(p.numel() for p in m.parameters()) / 1e6
    assert 68 < count(model.reconstructive) < 70
    assert 27 < count(model.discriminative) < 29
    recon, logits = Draem(4, 4)(torch.rand(2, 3, 32, 32))
    assert recon.shape == (2, 3, 32, 32) and logits.shape == (2, 2, 32, 32)


@pytest.fixture(scope="module")
def tiles_mixed(synth_root, tmp_path_factory):
    cfg = resolve(category="synth_tiles", data_root=str(synth_root),
                  runs_root=str(tmp_path_factory.mktemp("runs")), train_on="mixed",
                  scorer="draem")
    return run_scores(cfg, progress=False)


def test_draem_detects_synthetic_defects(tiles_mixed):
    # Measured 0.996 test / 0.986 pixel / 0.842 pool (CPU, one thread, seed 0); chance 0.5.
    assert tiles_mixed.metrics["test_image_auroc"] > 0.8
    assert tiles_mixed.metrics["test_pixel_auroc"] > 0.7


def test_mixed_training_ranks_pool_anomalies_above_normals(tiles_mixed):
    assert tiles_mixed.metrics["pool_image_auroc"] > 0.8


def test_outputs_are_written(tiles_mixed):
    out = tiles_mixed.out_dir
    scores = pd.read_csv(out / "scores.csv")
    assert len(scores) == 160 and scores.path.str.startswith("synth_tiles/train/").all()
    saved = torch.load(out / "model.pt", weights_only=True)
    assert saved["scorer"] == "draem" and saved["settings"]["draem_epochs"] == 25
    assert any(k.startswith("discriminative.") for k in saved["state"]["network"])
    assert (out / "metrics.json").exists() and (out / "loss.csv").exists()


def test_scores_csv_from_another_detector(synth_root, tmp_path, tiles_mixed):
    theirs = pd.read_csv(tiles_mixed.out_dir / "scores.csv")[["path", "score"]]
    theirs["path"] = "./DATA/" + theirs.path          # the paper's path style
    csv = tmp_path / "theirs.csv"
    theirs.assign(score=-theirs.score).to_csv(csv, index=False)
    cfg = resolve(category="synth_tiles", data_root=str(synth_root),
                  runs_root=str(tmp_path / "runs"), scorer="csv", scores_csv=str(csv),
                  head="lbfgs")
    run = run_scores(cfg)
    assert run.metrics["pool_image_auroc"] == pytest.approx(
        1 - tiles_mixed.metrics["pool_image_auroc"])
    theirs.iloc[:-1].to_csv(csv, index=False)
    with pytest.raises(AsalError, match="no score for 1 pool images"):
        run_scores(cfg.model_copy(update={"scorer_seed": 1}))


def test_bad_input_is_named(tmp_path):
    bank = anomaly_source(None, 32, 0, CPU, n_procedural=2)

    def scorer():
        return DraemScorer(draem_epochs=1, draem_batch_size=8, draem_lr=1e-3,
                           draem_recon_width=2, draem_disc_width=2, draem_score_filter=3,
                           anomaly_source_dir=None, draem_checkpoint_every=1,
                           anomaly_source=bank)

    few = torch.zeros(3, 3, 32, 32, dtype=torch.uint8)
    with pytest.raises(AsalError, match="at least draem_batch_size=8"):
        scorer().fit(few, Fitting(workdir=tmp_path))
    with pytest.raises(AsalError, match="multiple of 32"):
        scorer().fit(torch.zeros(8, 3, 48, 48, dtype=torch.uint8), Fitting(workdir=tmp_path))
    (tmp_path / "empty").mkdir()
    with pytest.raises(AsalError, match="holds no images"):
        load_source_folder(tmp_path / "empty", 32)

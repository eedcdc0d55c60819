"""The scorer interface's contract, on every registered scorer (asal/models/scorers/), and
stage 01 around it."""

import numpy as np
import pandas as pd
import pytest
import torch

from asal.config.layout import scores_dir
from asal.config.profiles import resolve
from asal.data.images import load_split
from asal.data.textures import anomaly_source
from asal.errors import AsalError
from asal.models.scorer_names import PARAMETERS, SCORER_NAMES
from asal.models.scorers import SCORERS, Fitting
from asal.stages.scorer_files import (load_scorer, make_scorer, scorer_from_state,
                                      scorer_settings)
from asal.stages.scores import run_scores

CAT = "synth_tiles"
SIZE = 64
# DRAEM for the properties that need no good detector: tiny and quick; the pasted square
# is seen by the synthetic profile's DRAEM (the module's `detector`, trained once)
TINY_DRAEM = dict(draem_epochs=2, draem_recon_width=2, draem_disc_width=2,
                  draem_batch_size=16, draem_checkpoint_every=1)
FITTED = {}


def test_the_registry_holds_every_named_scorer():
    assert tuple(SCORERS) == SCORER_NAMES == tuple(PARAMETERS)


@pytest.fixture(scope="module")
def pool(synth_root):
    """synth_tiles' good pool images: a clean pool, and a clean test image with its twin."""
    split = load_split(synth_root, CAT, "train", SIZE)
    good = split.images[split.labels == 0]
    return good[:-1], good[-1:]


def pasted(image: torch.Tensor) -> torch.Tensor:
    """The same image with a dark square pasted in, a quarter of its side."""
    twin = image.clone()
    q = SIZE // 4
    twin[:, :, q:2 * q, q:2 * q] = 0
    return twin


def make(name: str, pool_images, seed: int = 0, draem: dict = TINY_DRAEM):
    """A scorer of the registry, with the synthetic profile's parameters; the csv scorer
    is given scores that rank by mean brightness, darker first (the pasted square)."""
    # the synthetic profile's evidence head refuses the csv scorer, which scores no new image
    cfg = resolve("synthetic", category=CAT, scorer=name, **draem,
                  **(dict(scores_csv="given.csv", head="lbfgs") if name == "csv" else {}))
    needs = {}
    if name == "draem":
        needs["anomaly_source"] = anomaly_source(None, SIZE, seed, torch.device("cpu"),
                                                 n_procedural=16)
    if name == "csv":
        keys = [f"k{i}" for i in range(len(pool_images))]
        needs["given_scores"] = dict(zip(keys, (-pool_images.float().mean((1, 2, 3))).tolist()))
    return make_scorer(name, scorer_settings(cfg, name), seed=seed, inputs=needs)


def fit(name: str, images, **kw):
    keys = [f"k{i}" for i in range(len(images))]
    return make(name, images, **kw).fit(images, Fitting(keys=keys))


def fitted(name: str, images, **kw):
    """One fit per scorer and pool for the module (the same-seed test fits again)."""
    key = (name, images.shape[0], images.float().mean().item(), str(kw))
    if key not in FITTED:
        FITTED[key] = fit(name, images, **kw)
    return FITTED[key]


@pytest.mark.parametrize("name", SCORER_NAMES)
def test_scores_are_finite_one_per_image_and_the_same_for_the_same_seed(name, pool):
    images, _ = pool
    first = fitted(name, images).pool_scores()
    assert first.shape == (len(images),) and np.isfinite(first).all()
    assert np.array_equal(first, fit(name, images).pool_scores())   # byte for byte


@pytest.mark.parametrize("name", SCORER_NAMES)
def test_a_pasted_defect_scores_above_its_clean_twin(name, pool):
    images, clean = pool
    if name == "csv":             # given scores: the pool's, the darkened one among them
        with_twin = torch.cat([images, pasted(clean)])
        scores = fit(name, with_twin).pool_scores()
        assert scores[-1] == scores.max()
        return
    scorer = fitted(name, images, **({"draem": {}} if name == "draem" else {}))
    both = scorer.anomaly_scores(torch.cat([clean, pasted(clean)]))
    assert both[1] > both[0]
    if scorer.has_maps:           # and its map is brighter inside the square than outside
        amap = scorer.anomaly_maps(pasted(clean))[0]
        square = np.zeros((SIZE, SIZE), dtype=bool)
        square[SIZE // 4:SIZE // 2, SIZE // 4:SIZE // 2] = True
        assert amap.shape == (SIZE, SIZE) and amap[square].mean() > amap[~square].mean()


@pytest.mark.parametrize("name", SCORER_NAMES)
def test_the_pools_order_does_not_change_its_scores(name, pool):
    """Nothing depends on the pool's order: a permuted pool's scores are the permuted
    scores (so ties are broken downstream, label-blind, by asal/order.py)."""
    images, _ = pool
    order = np.random.default_rng(0).permutation(len(images))
    scores = fitted(name, images).pool_scores()
    permuted = fit(name, images[torch.from_numpy(order)]).pool_scores()
    assert np.allclose(permuted, scores[order], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", [n for n in SCORER_NAMES if SCORERS[n].trains])
def test_a_resumed_fit_ends_where_an_uninterrupted_one_does(name, pool, tmp_path):
    images, clean = pool
    whole = make(name, images).fit(images, Fitting(workdir=tmp_path / "whole"))
    part = make(name, images).fit(images, Fitting(workdir=tmp_path / "part", stop_after=1))
    assert not part.finished
    resumed = make(name, images).fit(images, Fitting(workdir=tmp_path / "part"))
    assert resumed.record.resumed_from == 1 and resumed.finished
    assert np.array_equal(whole.anomaly_scores(clean), resumed.anomaly_scores(clean))


@pytest.mark.parametrize("name", [n for n in SCORER_NAMES if n != "csv"])
def test_a_saved_scorer_scores_as_the_fitted_one(name, pool):
    images, clean = pool
    scorer = fitted(name, images)
    settings = {k: v for k, v in scorer.settings.items() if k not in SCORERS[name].needs}
    again = scorer_from_state(name, scorer.state(), settings, seed=0)
    assert np.array_equal(again.anomaly_scores(clean), scorer.anomaly_scores(clean))


# ----------------------------------------------------------------------- stage 01

def _cfg(synth_root, runs, **kw):
    return resolve("synthetic", category=CAT, data_root=str(synth_root), runs_root=str(runs),
                   **kw)


def test_a_scorer_run_twice_writes_byte_identical_scores(synth_root, tmp_path):
    first = run_scores(_cfg(synth_root, tmp_path / "a"), progress=False)
    second = run_scores(_cfg(synth_root, tmp_path / "b"), progress=False)
    for name in ("scores.csv", "test_scores.csv"):
        assert (first.out_dir / name).read_bytes() == (second.out_dir / name).read_bytes()
    assert first.out_dir.relative_to(tmp_path / "a").parts[-3:] == ("ensemble", "mixed",
                                                                   "seed0")
    # the heat map and predict's score come from the scorer kept in model.pt
    loaded = load_scorer(first.out_dir)
    test = load_split(synth_root, CAT, "test", SIZE)
    frame = pd.read_csv(first.out_dir / "test_scores.csv")
    assert np.allclose(loaded.anomaly_scores(test.images), frame.score, atol=1e-12)


def test_two_scorer_seeds_leave_two_folders_and_other_parameters_are_refused(synth_root,
                                                                                tmp_path):
    def cfg(seed, **kw):
        return _cfg(synth_root, tmp_path, scorer="features", scorer_seed=seed, **kw)

    first = run_scores(cfg(0), progress=False)
    before = {p.name: p.read_bytes() for p in scores_dir(cfg(0)).iterdir()}
    second = run_scores(cfg(1), progress=False)
    assert scores_dir(cfg(0)).name == "seed0" and scores_dir(cfg(1)).name == "seed1"
    assert {p.name: p.read_bytes() for p in scores_dir(cfg(0)).iterdir()} == before
    assert not np.array_equal(first.pool_scores, second.pool_scores)
    with pytest.raises(AsalError, match="made with features_k=5, and this one asks for "
                                        "features_k=3"):
        run_scores(cfg(0, features_k=3), progress=False)


def test_bad_scorer_parameters_are_one_sentence_each(synth_root, tmp_path):
    with pytest.raises(AsalError, match=r"^Parameter 'scorer' in the explicit parameters "
                                        r"must be 'ensemble', .*not 'foo'\.$"):
        _cfg(synth_root, tmp_path, scorer="foo")
    with pytest.raises(AsalError, match=r"^Parameter 'ensemble' .* must be a list of at "
                                        r"least one scorer, such as \[patches, pixels\]: the "
                                        r"ensemble combines their scores"):
        _cfg(synth_root, tmp_path, ensemble=[])
    with pytest.raises(AsalError, match="scorer csv reads another detector's scores; set "
                                        "scores_csv to the CSV's path"):
        _cfg(synth_root, tmp_path, scorer="csv", head="lbfgs")
    with pytest.raises(AsalError, match="head evidence reads the scorer's evidence of every "
                                        "image it scores, and the csv scorer cannot score a "
                                        "new image"):
        _cfg(synth_root, tmp_path, scorer="csv", scores_csv="given.csv")


def test_pixels_refuses_images_of_mixed_sizes(tmp_path, unlabeled_root):
    import shutil

    from PIL import Image

    shutil.copytree(unlabeled_root / "own", tmp_path / "data" / "own")
    odd = next((tmp_path / "data" / "own" / "train" / "unlabeled").iterdir())
    with Image.open(odd) as img:
        img.resize((img.width, img.height // 2)).save(odd)
    for scorer in ("pixels", "ensemble"):
        cfg = resolve("own", category="own", data_root=str(tmp_path / "data"),
                      runs_root=str(tmp_path / "runs"), scorer=scorer)
        with pytest.raises(AsalError, match=r"^The pool of own mixes image sizes \(128 x 64, "
                                            r"128 x 128 px\), and the pixels scorer compares "
                                            r"each pixel with the same pixel of the other "
                                            r"images, so it needs registered images of one "
                                            r"framing; crop them"):
            run_scores(cfg, progress=False)
    assert not (tmp_path / "runs" / "own" / "own" / "scores" / "pixels").exists() or \
        not any((tmp_path / "runs" / "own" / "own" / "scores" / "pixels").rglob("scores.csv"))
    features = resolve("own", category="own", data_root=str(tmp_path / "data"),
                       runs_root=str(tmp_path / "runs"), scorer="features")
    assert len(run_scores(features, progress=False).pool_scores) == 160

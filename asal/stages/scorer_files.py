"""A scorer made from a run's parameters, and kept in its scores folder as model.pt.

`build_scorer` gives the registry's scorer (asal/models/scorers/) its parameters from the
profile and what the stage prepares for it: DRAEM's anomaly source (a texture folder, or
the built-in textures), the csv scorer's scores read from the user's file, every row
checked. model.pt holds the scorer's name, seed, parameters and fitted state; `load_scorer`
rebuilds it, so 05's heat map and predict's anomaly_score come from whichever scorer ranked
the pool. For a scorer with maps it also keeps the scale 05 shows them at
(`map_scale`).
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from asal.config.layout import MODEL
from asal.data.csvfile import read_rows
from asal.data.folders import expected_key_form, key_in_pool, pool_key
from asal.data.images import list_pool
from asal.data.textures import anomaly_source
from asal.errors import AsalError
from asal.models.scorer_names import PARAMETERS
from asal.models.scorers import SCORERS, Scorer

if TYPE_CHECKING:
    from asal.config.schema import Params

FORMAT = "asal-scorer/1"


def scorer_settings(cfg: Params, name: str) -> dict:
    """The parameters a scorer takes, from the profile (an ensemble's members' too)."""
    names = list(PARAMETERS[name])
    if name == "ensemble":
        names += [p for m in cfg.ensemble for p in PARAMETERS[m]]
    return {p: getattr(cfg, p) for p in dict.fromkeys(names)}


def prepared_inputs(cfg: Params, name: str, device) -> dict:
    """What the stage prepares for the scorers that need it (SCORERS[...].needs); an
    ensemble's members are made by make_scorer."""
    names = [name] + (list(cfg.ensemble) if name == "ensemble" else [])
    needs = {n for member in names for n in SCORERS[member].needs}
    inputs = {}
    if "anomaly_source" in needs:
        inputs["anomaly_source"] = anomaly_source(cfg.anomaly_source_dir, cfg.image_size,
                                                  cfg.scorer_seed, device)
    if "given_scores" in needs:
        inputs["given_scores"] = given_scores(cfg)
    return inputs


def make_scorer(name: str, settings: dict, *, seed: int, device=None,
                inputs: dict | None = None) -> Scorer:
    """A scorer of the registry with its settings and prepared inputs; an ensemble with
    its members made the same way."""
    inputs = dict(inputs or {})
    if name == "ensemble":
        inputs["members"] = {m: make_scorer(m, settings, seed=seed, device=device,
                                            inputs=inputs)
                             for m in settings["ensemble"]}
    cls = SCORERS[name]
    return cls(seed=seed, device=device, **settings,
               **{k: v for k, v in inputs.items() if k in cls.needs})


def build_scorer(cfg: Params, device, name: str | None = None) -> Scorer:
    name = name or cfg.scorer
    return make_scorer(name, scorer_settings(cfg, name), seed=cfg.scorer_seed, device=device,
                       inputs=prepared_inputs(cfg, name, device))


def scorer_from_state(name: str, state: dict, settings: dict, *, seed: int,
                      device=None) -> Scorer:
    """A fitted scorer rebuilt from what state() gave (an ensemble's members first)."""
    extra = {}
    if name == "ensemble":
        extra["members"] = {m: scorer_from_state(m, s, settings, seed=seed, device=device)
                            for m, s in state["members"].items()}
    return SCORERS[name].from_state(state, seed=seed, device=device, **settings, **extra)


def map_scale(scorer: Scorer, pool: torch.Tensor, batch: int = 256) -> float:
    """Where a map is bright: the 95th percentile, over the pool's images, of each image's
    highest map value. A statistic per image, then over the set, so the pool's order
    does not matter; defects are a minority of a pool, so a typical good image's peak
    stays dim and a clear defect's is near 1."""
    peaks = np.concatenate([scorer.anomaly_maps(pool[s:s + batch]).reshape(
        len(pool[s:s + batch]), -1).max(1) for s in range(0, len(pool), batch)])
    return max(float(np.quantile(peaks, 0.95)), 1e-12)


def scorer_file(cfg: Params, scorer: Scorer, pool: torch.Tensor) -> dict:
    """model.pt's content: a plain dict that torch.load(weights_only=True) reads."""
    return {"format": FORMAT, "scorer": scorer.name, "seed": scorer.seed,
            "settings": scorer_settings(cfg, scorer.name), "state": scorer.state(),
            "map_scale": map_scale(scorer, pool) if scorer.has_maps else None}


def _saved(folder) -> dict:
    """A scores folder's model.pt, checked."""
    path = Path(folder) / MODEL
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise AsalError(f"{path} does not exist (model files are not committed); run "
                        "notebooks/01_scores.ipynb with the run's parameters to make it.") \
            from None
    except (OSError, RuntimeError, EOFError, ValueError, pickle.UnpicklingError) as err:
        raise AsalError(f"Cannot read {path} ({err}); run 01 again to rewrite it.") from None
    if not isinstance(saved, dict) or saved.get("format") != FORMAT:
        raise AsalError(f"{path} is not a scorer written by this asal; run "
                        "notebooks/01_scores.ipynb again on that folder to rewrite it.")
    return saved


def load_scorer(folder, device=None) -> Scorer:
    """The fitted scorer of a scores folder, from its model.pt."""
    return scorer_from_file(_saved(folder), device)


def scorer_from_file(saved: dict, device=None) -> Scorer:
    """A scorer from model.pt's content (scorer_file), as a classifier's artefact keeps
    it too."""
    return scorer_from_state(saved["scorer"], saved["state"], saved["settings"],
                             seed=saved["seed"], device=device)


def saved_scorer(folder) -> dict | None:
    """A scores folder's model.pt content, or None where there is none on disk."""
    return _saved(folder) if (Path(folder) / MODEL).is_file() else None


def map_scale_of(folder) -> float | None:
    """The scale 05 shows the folder's scorer's maps at (None: it has no maps)."""
    return _saved(folder)["map_scale"]


def given_scores(cfg: Params) -> dict[str, float]:
    """The scores of the user's CSV (path, score) by pool key; every row checked."""
    csv = Path(cfg.scores_csv)
    if not csv.exists():
        raise AsalError(f"scores_csv {csv} does not exist; give a CSV with columns path and "
                        "score.")
    paths, _ = list_pool(cfg.data_root, cfg.category)
    keys = [pool_key(p) for p in paths]
    pool, given, line_of = set(keys), {}, {}
    for n, row in read_rows(csv, ("path", "score")):
        where = f"Line {n} of {csv}"
        key = key_in_pool(row["path"], cfg.data_root, pool)
        if key is None:
            raise AsalError(f"{where} names '{row['path']}', which is not an image of "
                            f"{cfg.category}/train; a path is {expected_key_form(pool)}: "
                            "correct it or delete the line.")
        if key in given:
            raise AsalError(f"{where} scores '{key}' a second time (line {line_of[key]} did "
                            "first); keep one row per image.")
        try:
            value = float(row["score"])
        except ValueError:
            value = None
        if value is None or not np.isfinite(value):
            raise AsalError(f"{where} gives '{key}' the score '{row['score']}'; every score "
                            "must be a finite number.")
        given[key], line_of[key] = value, n
    missing = [k for k in keys if k not in given]
    if missing:
        raise AsalError(f"{csv} has no score for {len(missing)} pool images (first: "
                        f"{missing[0]}); score every image of {cfg.category}/train.")
    return given

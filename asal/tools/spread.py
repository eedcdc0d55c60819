"""Seed-spread experiments: the scorers' AUROCs over more seeds, and the classifier's
numbers with pretext networks of other seeds; the tolerances of the checks come from them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from asal.config.layout import METRICS_JSON, RunLayout
from asal.errors import AsalError
from asal.io import write_csv
from asal.tools.checks import SCORER_METRICS, final_values

if TYPE_CHECKING:
    from asal.config.schema import Params


def _scorer_run(cfg: Params) -> dict:
    """Stage 01 with one scorer seed, in the experiment's own folder (a worker process)."""
    import torch

    from asal.stages.scores import run_scores

    torch.set_num_threads(1)
    return _row(cfg.category, cfg.scorer, cfg.train_on, cfg.scorer_seed,
                run_scores(cfg, progress=False).metrics)


def _row(category: str, scorer: str, train_on: str, seed: int, metrics: dict) -> dict:
    return {"category": category, "scorer": scorer, "train_on": train_on,
            "scorer_seed": seed, **{k: metrics.get(k) for k in SCORER_METRICS}}


def _pretext_seed_runs(base: Params, category: str, pretext_seed: int, root: str) -> list:
    """Stage 00 with another pretext seed, then the experiment's inits x seeds on its
    batches, all in `root` (a worker process); their final AUROC and AUBC."""
    import torch

    from asal.config.layout import batches_dir
    from asal.stages.statistics import aubc
    from asal.stages.active_learning.loop import run_active_learning
    from asal.stages.pretext import run_pretext

    torch.set_num_threads(1)
    base = base.model_copy(update={"category": category})
    rows = []
    for init in base.inits:
        for seed in base.seeds:
            cfg = base.model_copy(update={
                "init": init, "seed": seed, "runs_root": root, "pretext_seed": pretext_seed,
                "batches_dir": str(batches_dir(base.model_copy(
                    update={"scorer_seed": base.scorer_seed_of(seed)})))})
            for task in cfg.pretext_tasks():
                run_pretext(cfg, task, progress=False)
            cycles = run_active_learning(cfg, progress=False).cycles
            rows.append({"category": category, "pretext_seed": pretext_seed, "init": init,
                         "seed": seed, "final": float(cycles.auroc.iloc[-1]),
                         "aubc": aubc(cycles.n_labels, cycles.auroc)})
    return rows


def _in_workers(fn, jobs: int, *args) -> list:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # spawned workers import asal first, so they pin the CPU kernels as the pipeline does
    with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        return list(pool.map(fn, *args))


def measure_pretext_spread(base: Params, pretext_seeds=(1, 2), jobs: int = 2,
                           scratch=None) -> pd.DataFrame:
    """The classifier's final AUROC and AUBC with pretext networks of other seeds.

    The experiment's own runs (its pretext seed) are read; for every other pretext seed and
    category a pretext network is trained in a scratch folder and every init x seed of the
    experiment runs from it, `jobs` at a time. Writes runs/<exp>/pretext_seed_spread.csv.
    """
    import tempfile

    layout = RunLayout.of(base)
    rows = [{"category": r.category, "pretext_seed": base.pretext_seed, "init": r.init,
             "seed": r.seed, "final": r.final, "aubc": r.aubc}
            for r in final_values(layout, base.query).itertuples()]
    if not rows:
        raise AsalError(f"No runs of {base.exp} in {base.runs_root}; run the experiment "
                        "(README's main command) before measuring the pretext spread.")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(scratch or tmp)
        todo = [(base, cat, p, str(root / f"pretext_seed{p}")) for cat in base.categories
                for p in pretext_seeds if p != base.pretext_seed]
        for part in _in_workers(_pretext_seed_runs, jobs, *zip(*todo)):
            rows += part
    frame = pd.DataFrame(rows).sort_values(["category", "init", "seed", "pretext_seed"])
    write_csv(layout.pretext_spread, frame)
    return frame


def measure_scorer_spread(base: Params, seeds=(1, 2), jobs: int = 2,
                          runs=None) -> pd.DataFrame:
    """The scorers' AUROCs over seeds, for every category of an experiment and every
    (scorer, train_on) in `runs` (default: the ranking scorer on the pool, and DRAEM on
    the good images where the profile's draem_normal asks for it).

    The experiment's own runs are read (every scorer seed its runs used, all of them when
    seeds are replicates); the other seeds are fitted as part of the experiment
    (runs/<exp>/<cat>/scores/<scorer>/<train_on>/seed<k>/), `jobs` at a time, one CPU
    thread each. Writes runs/<exp>/scorer_seed_spread.csv.
    """
    layout = RunLayout.of(base)
    runs = runs or [(base.scorer, "mixed")] + ([("draem", "normal")] if base.draem_normal
                                                else [])
    rows, todo = [], []
    for cat in base.categories:
        for scorer, train_on in runs:
            path = layout.scores(cat, scorer, train_on, base.scorer_seeds[0]) / METRICS_JSON
            if not path.exists():
                raise AsalError(f"{path} does not exist; run the experiment (README's main "
                                "command) before measuring the seed spread.")
            for s in sorted({*base.scorer_seeds, *seeds}):
                done = layout.scores(cat, scorer, train_on, s) / METRICS_JSON
                if done.exists():
                    rows.append(_row(cat, scorer, train_on, s, json.loads(done.read_text())))
                else:
                    todo.append(base.model_copy(update={
                        "category": cat, "scorer": scorer, "train_on": train_on,
                        "scorer_seed": s, "device": "cpu"}))
    rows += _in_workers(_scorer_run, jobs, todo)
    frame = pd.DataFrame(rows).sort_values(["category", "scorer", "train_on", "scorer_seed"])
    write_csv(layout.scorer_spread, frame)
    return frame

"""What stage 04 reads of an experiment: every run it expects (asal/config/layout.py),
gathered into frames, and the ones that are missing."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from asal.config.layout import (CONFIG_JSON, METRICS_CYCLE, METRICS_JSON, PROVENANCE_JSON,
                               RunLayout)
from asal.data.batchfiles import BATCHES_CSV

if TYPE_CHECKING:
    from asal.config.schema import Params

METRICS = ("auroc", "accuracy", "balanced_accuracy")
# no training time: a table is the same wherever and however its jobs ran (a SLURM run's
# tables equal a local one's byte for byte); the times stay in each network's metrics.json
PRETEXT_COLUMNS = ("linear_probe_auroc", "knn_auroc", "scratch_linear_probe_auroc",
                   "scratch_knn_auroc", "final_pretext_accuracy")


@dataclass
class Gathered:
    exp: str
    every_cycle: pd.DataFrame          # metrics_cycle.csv rows + category, init, query, seed
    scores: pd.DataFrame               # one row per scorer run (SCORE_COLUMNS)
    pretext: pd.DataFrame              # category, task, representation AUROCs
    batches: dict[str, pd.DataFrame]
    missing: list[str]
    protocols: list[str]
    provenances: list[dict]            # each run's provenance.json (commit, CPU, ...); {} where
                                       # a clone has none (git keeps them out)
    seeds: list[int]
    queries: list[str]
    ceiling: pd.DataFrame              # category, seed, test metrics of the ceiling
    budget: int | None = None          # labels at which final numbers are read
    per_batch: int = 2                 # ASAL's picks per batch (score_distributions)
    scorer: str = "draem"              # the scorer that ranked the pools
    rule: str = ""                     # the stopping rule, in words (its parameters)
    marks: tuple[int, ...] = ()        # labeled-set sizes every run has a cycle at

    def scorer_runs(self, train_on: str = "mixed", scorer: str | None = None) -> pd.DataFrame:
        s = self.scores
        return s[(s.scorer == (scorer or self.scorer)) & (s.train_on == train_on)]

    @property
    def complete(self) -> bool:
        return not self.missing

    def within_budget(self, frame: pd.DataFrame) -> pd.DataFrame:
        return frame if self.budget is None else frame[frame.n_labels <= self.budget]

    @property
    def cycles(self) -> pd.DataFrame:
        """The first query's cycles up to the budget: what the paper's tables read."""
        first = self.every_cycle[self.every_cycle["query"] == self.queries[0]]
        return self.within_budget(first).reset_index(drop=True)


SCORE_COLUMNS = ["category", "scorer", "train_on", "scorer_seed", "pool_image_auroc",
                 "test_image_auroc", "asal_defects", "seconds"]


def scorer_runs(cfg: Params) -> list[tuple[str, str, list[int]]]:
    """(scorer, train_on, seeds) of every scorer run the experiment reads: the ranking
    scorer and the compared ones with every scorer seed, DRAEM on the good images with the
    first (a baseline, as the paper's DRAEM_normal)."""
    runs = [(cfg.scorer, "mixed", cfg.scorer_seeds)] + [
        (name, "mixed", cfg.compared_scorer_seeds) for name in cfg.scorers if name != cfg.scorer]
    if cfg.draem_normal:
        runs.append(("draem", "normal", cfg.scorer_seeds[:1]))
    return runs


def gather(cfg: Params) -> Gathered:
    """Read the experiment's expected runs (RunLayout): the scorers' scores and batches, the
    pretext networks and every category x init x seed of 03."""
    layout, missing = RunLayout.of(cfg), []
    scores = [row for cat in cfg.categories for name, train_on, seeds in scorer_runs(cfg)
              for row in _scorer_rows(layout, cat, name, train_on, seeds, cfg.per_batch,
                                      missing)]
    networks = list(layout.pretext_runs())
    pretext = [{"category": cat, "task": task, "pretext_seed": seed,
                **{k: m.get(k) for k in PRETEXT_COLUMNS}}
               for cat in cfg.categories for c, task, seed, folder in networks
               if c == cat and seed in cfg.pretext_seeds
               and (m := _json(folder / METRICS_JSON))]
    batches = {}
    for cat in cfg.categories:
        path = layout.batches(cat, cfg.scorer, cfg.scorer_seeds[0]) / BATCHES_CSV
        if path.exists():
            batches[cat] = pd.read_csv(path)
        else:
            missing.append(f"{cat}/batches/{cfg.scorer}/seed{cfg.scorer_seeds[0]}")
    frames, configs, provenances = [], [], []
    for cat in cfg.categories:
        for init, query in cfg.runs():
            for seed in cfg.seeds:
                run = layout.al(cat, init, query, seed)
                if not (run / METRICS_CYCLE).exists():
                    missing.append(f"{cat}/al/{init}/{query}/seed{seed}")
                    continue
                configs.append(_json(run / CONFIG_JSON) or {})
                provenances.append(_json(run / PROVENANCE_JSON) or {})
                frames.append(_run_cycles(run).assign(category=cat, init=init, query=query,
                                                      seed=seed))
    cycles = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["category", "init", "query", "seed", "cycle", "n_labels", "n_anomalies",
                 "train_loss", *METRICS])
    return Gathered(cfg.exp, cycles, pd.DataFrame(scores, columns=SCORE_COLUMNS),
                    pd.DataFrame(pretext, columns=["category", "task", "pretext_seed",
                                                   *PRETEXT_COLUMNS]),
                    batches, missing, sorted({c.get("protocol", "?") for c in configs}),
                    provenances,
                    list(cfg.seeds), list(cfg.queries), _ceilings(cfg, layout, missing),
                    cfg.budget_labels, cfg.per_batch, cfg.scorer,
                    rule_words(cfg), tuple(cfg.label_marks))


def rule_words(cfg: Params) -> str:
    """The stopping rule as its parameters set it, in words (04's captions)."""
    budget = f", at the latest at {cfg.stop_max_labels} labels" if cfg.stop_max_labels else ""
    return (f"stop when the mean Cohen's kappa of the last {cfg.stop_window} successive "
            f"predictions on the pool reaches {cfg.stop_kappa:g}, once the labels hold "
            f"{cfg.stop_min_defects} defects and never while one class is predicted "
            f"everywhere{budget}")


def _run_cycles(run: Path) -> pd.DataFrame:
    """A run's cycles, with the labeled set's training loss at each cycle's end."""
    frame = pd.read_csv(run / METRICS_CYCLE, keep_default_na=False, na_values=[""])
    epochs = run / "metrics_epoch.csv"
    if epochs.exists():
        ends = pd.read_csv(epochs).groupby("cycle").train_loss.last()
        frame["train_loss"] = frame.cycle.map(ends)
    return frame


# a ceiling's metrics.json: its test metrics, then its parts alone (asal/stages/ceiling.py)
CEILING_COLUMNS = ("auroc", "balanced_accuracy", "ap", "pool_labels", "train_loss",
                   "features_only_auroc", "scorer_auroc")


def _ceilings(cfg: Params, layout: RunLayout, missing: list) -> pd.DataFrame:
    rows = []
    for cat in cfg.categories if cfg.ceiling else []:
        for seed in cfg.seeds:
            m = _json(layout.ceiling(cat, seed) / METRICS_JSON)
            if m is None:
                missing.append(f"{cat}/ceiling/seed{seed}")
                continue
            rows.append({"category": cat, "seed": seed,
                         **{k: m.get(k, np.nan) for k in CEILING_COLUMNS}})
    return pd.DataFrame(rows, columns=["category", "seed", *CEILING_COLUMNS])


def _json(path: Path) -> dict | None:
    return json.loads(path.read_text()) if path.exists() else None


def _scorer_rows(layout: RunLayout, cat: str, scorer: str, train_on: str, seeds,
                 per_batch: int, missing: list):
    for seed in seeds:
        folder = layout.scores(cat, scorer, train_on, seed)
        m = _json(folder / METRICS_JSON)
        if m is None:
            missing.append(f"{cat}/scores/{scorer}/{train_on}/seed{seed}")
            continue
        batches = layout.batches(cat, scorer, seed) / BATCHES_CSV
        yield {"category": cat, "scorer": scorer, "train_on": train_on, "scorer_seed": seed,
               "pool_image_auroc": m.get("pool_image_auroc"),
               "test_image_auroc": m.get("test_image_auroc"),
               "asal_defects": _asal_defects(batches, per_batch) if train_on == "mixed"
               else None, "seconds": (_json(folder / PROVENANCE_JSON) or {}).get("seconds")}


def _asal_defects(batches: Path, per_batch: int) -> float | None:
    """Defects in ASAL's initial set on these batches (its labels, read to measure)."""
    if not batches.exists():
        return None
    frame = pd.read_csv(batches)
    if frame.label.isna().any():                    # an unlabeled pool
        return None
    return float(frame.sort_values("rank").groupby("batch").head(per_batch).label.sum())

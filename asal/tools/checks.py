"""Did a rerun of a notebook reproduce the committed run? The checks 01 and 03 print.

Deterministic outputs are compared exactly, trained numbers within a tolerance derived
from their seed spread (how: asal/tools/tolerance.py), timings never. The seed spreads come
from the committed experiment: the classifier's from its seeds, and the scorers' from
runs/<exp>/scorer_seed_spread.csv (`asal scorer-spread`) or from the experiment's own
scorer seeds.
"""


from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from asal.config.layout import (BACKBONE, CONFIG_JSON, METRICS_CYCLE, METRICS_JSON,
                                SCORER_SPREAD, RunLayout, al_dir, pretext_dir, scores_dir)
from asal.stages.statistics import aubc
from asal.models.strategies import INITS
from asal.tools.tolerance import (Verdict, classifier_sigma, pooled_sd, require, scorer_sd,
                                   tolerance, tolerance_lines)
from asal.stages.claims import recorded

if TYPE_CHECKING:
    from asal.config.schema import Params

SCORER_METRICS = ("test_image_auroc", "test_pixel_auroc", "pool_image_auroc")
# inits whose pick follows from the batches alone (they need no other view of the pool), so
# a re-run on the committed batches must pick the same images
BATCH_INITS = tuple(name for name, init in INITS.items() if not init.needs)


# ---------------------------------------------------------------- stage 01 (scorers)

def read_spread(path: Path) -> pd.DataFrame | None:
    """A seed-spread table of the experiment (RunLayout.scorer_spread, .pretext_spread)."""
    return pd.read_csv(path) if path.exists() else None


@dataclass
class ScorerReference:
    """The committed metrics of a stage-01 run, read before a re-run overwrites them."""

    metrics: dict | None
    spread: pd.DataFrame | None
    why_not: str = ""

    def check(self, metrics: dict) -> list[Verdict]:
        names = [k for k in SCORER_METRICS if self.metrics.get(k) is not None]
        return [Verdict(k, round(self.metrics[k], 4), round(metrics[k], 4),
                        tolerance(scorer_sd(self.spread, k), 1, len(names)))
                for k in names]


def scorer_reference(cfg: Params) -> ScorerReference:
    """The committed run of this folder (its parameters are this run's: 01 refuses
    others), and the recorded seed spread, if any."""
    path = scores_dir(cfg) / METRICS_JSON
    if not path.exists():
        return ScorerReference(None, None, "no committed run in this folder")
    if (key := cfg.first_difference(recorded(path.parent) or {}, "scores")) is not None:
        return ScorerReference(None, None, f"the committed run used another {key}")
    spread = read_spread(RunLayout.of(cfg).scorer_spread)
    if spread is None:
        return ScorerReference(None, None, f"no seed spread recorded ({SCORER_SPREAD})")
    own = spread[(spread.scorer == cfg.scorer) & (spread.train_on == cfg.train_on)]
    return ScorerReference(json.loads(path.read_text()), own if len(own) else spread)


# ------------------------------------------------------- stage 03 (active learning)

def final_values(layout: RunLayout, query: str, metric: str = "auroc") -> pd.DataFrame:
    """Final-cycle metric and AUBC of an experiment's runs with one query: category, init,
    seed."""
    rows = []
    for cat, init, query, seed, folder in layout.al_runs(query):
        if not (folder / METRICS_CYCLE).exists():
            continue
        frame = pd.read_csv(folder / METRICS_CYCLE).sort_values("cycle")
        rows.append({"category": cat, "init": init, "seed": seed,
                     "final": float(frame[metric].iloc[-1]),
                     "aubc": aubc(frame.n_labels, frame[metric])})
    return pd.DataFrame(rows, columns=["category", "init", "seed", "final", "aubc"])


@dataclass
class LoopReference:
    """The committed files of an active-learning run, read before a re-run."""

    cycles: pd.DataFrame | None
    labeled: list[str] | None
    sigma: dict | None
    why_not: str = ""
    # the initial set follows from the batches alone (asal, random, top); the other inits
    # pick with a trained network (rotation loss, features), so their pick is not compared
    exact_initial: bool = True
    # With pretrained: self_supervised, the committed pretext network's digest and the sds
    # that hold when this run starts from another one (other CPU kernels train another).
    backbone: Path | None = None
    backbone_sha1: str | None = None
    sigma_other: dict | None = None

    def same_backbone(self) -> bool:
        if self.backbone is None:
            return True
        import torch

        from asal.models.pretext import weights_digest
        used = weights_digest(torch.load(self.backbone, map_location="cpu", weights_only=True))
        return used == self.backbone_sha1

    def check(self, cycles: pd.DataFrame, labeled: list[str]) -> list[Verdict]:
        first, mine = self.cycles.iloc[0], cycles.iloc[0]
        n_init = int(first.n_labels)
        exact = [Verdict("initial set", ";".join(self.labeled[:n_init]),
                         ";".join(labeled[:n_init])),
                 Verdict("defects in the initial set", int(first.n_anomalies),
                         int(mine.n_anomalies))] if self.exact_initial else []
        exact += [Verdict("labels per cycle", ";".join(map(str, self.cycles.n_labels)),
                         ";".join(map(str, cycles.n_labels)))]
        same = self.same_backbone()
        trained = {"final auroc": (self.cycles.auroc.iloc[-1], cycles.auroc.iloc[-1], "final"),
                   "aubc (auroc)": (aubc(self.cycles.n_labels, self.cycles.auroc),
                                    aubc(cycles.n_labels, cycles.auroc), "aubc")}
        m = len(trained)
        out = []
        for name, (c, r, key) in trained.items():
            tol = tolerance(self.sigma[key], 1, m)
            shown = None
            if self.sigma_other is not None:      # the same words whichever network was used
                wide = tolerance(self.sigma_other[key], 1, m)
                shown = (f"within {tol:.3f} of the committed value from the committed pretext "
                         f"network, {wide:.3f} from another one")
                tol = tol if same else wide
            out.append(Verdict(name, round(c, 4), round(r, 4), tol, shown))
        return exact + out


def loop_reference(cfg: Params) -> LoopReference:
    """The committed run of this folder, and the experiment's seed spread."""
    out, layout = al_dir(cfg), RunLayout.of(cfg)
    if not ((out / CONFIG_JSON).exists() and (out / METRICS_CYCLE).exists()):
        return LoopReference(None, None, None, "no committed run in this folder")
    if (key := cfg.first_difference(recorded(out) or {}, "al")) is not None:
        return LoopReference(None, None, None, f"the committed run used another {key}")
    cycles = pd.read_csv(out / METRICS_CYCLE)
    if len(cycles) < cfg.cycles:                  # oracle file: it waits for labels
        return LoopReference(None, None, None, "the run in this folder is not finished")
    if cycles.auroc.isna().all():
        return LoopReference(None, None, None, "it has no test metrics (no test split)")
    spread = final_values(layout, cfg.query).groupby(["category", "init"])
    spread = spread[["final", "aubc"]].std()
    if spread.isna().all().all():
        return LoopReference(None, None, None, "the experiment has a single seed")
    sigma = {k: pooled_sd(spread[k]) for k in ("final", "aubc")}
    reference = LoopReference(cycles, (out / "labeled.txt").read_text().split(), sigma,
                              exact_initial=cfg.init in BATCH_INITS)
    pretext = read_spread(layout.pretext_spread)
    if cfg.uses_pretext_network and pretext is not None:
        metrics = pretext_dir(cfg) / METRICS_JSON
        committed = json.loads(metrics.read_text()) if metrics.exists() else {}
        reference.backbone = pretext_dir(cfg) / BACKBONE
        reference.backbone_sha1 = committed.get("backbone_sha1")
        reference.sigma_other = {k: classifier_sigma(v, pretext, k, 1) for k, v in sigma.items()}
    return reference


def report(reference, *args, what: str) -> None:
    """The notebooks' check: print what is compared, then stop if anything differs."""
    if reference.why_not:
        print(f"Not compared with a committed result: {reference.why_not}.")
        return
    verdicts = reference.check(*args)
    print(tolerance_lines(verdicts))
    require(verdicts, what)
    print("reproduced: every value is within its tolerance")

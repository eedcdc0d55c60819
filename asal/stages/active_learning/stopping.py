"""The stopping rule after each cycle of 03 (asal/models/stopping.py): kappa between this
cycle's and the last cycle's predictions on the whole pool, its verdict, and those in a few
words for the progress line and the stop for labels."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from asal.models.stopping import StoppingRule, kappa

if TYPE_CHECKING:
    from asal.config.schema import Params


def stopping_rule(cfg: Params) -> StoppingRule:
    return StoppingRule(cfg.stop_kappa, cfg.stop_window, cfg.stop_min_defects,
                        cfg.stop_max_labels)


def rule_after_cycle(cfg: Params, learner, state, counts: dict, timer, n_pool: int) -> dict:
    """metrics_cycle.csv's columns of the rule: kappa against the last cycle (NaN at the
    first), the mean over the window, would_stop and its reason. The state keeps this
    cycle's predictions for the next (and in the checkpoint, for a resume)."""
    prob = learner.probabilities(state.model_state, state.cycle, list(range(n_pool)), timer)
    predictions = prob.argmax(1).numpy()
    k = kappa(np.array(list(state.predictions), dtype=int), predictions) \
        if state.predictions else float("nan")
    kappas = [row["kappa"] for row in state.cycle_rows] + [k]
    mean, stop, why = stopping_rule(cfg).decide(kappas, predictions, counts["n_labels"],
                                                counts["n_anomalies"])
    state.predictions = "".join(map(str, predictions.tolist()))
    return {"kappa": k, "kappa_mean": mean, "would_stop": stop, "stop_reason": why}


def stop_words(row: dict) -> str:
    """What the stopping rule says after a cycle, in a few words."""
    k = row.get("kappa_mean")
    level = "" if k is None or pd.isna(k) else f", kappa {k:.3f}"
    return ("would stop" if row.get("would_stop") else "go on") + \
        f" ({row.get('stop_reason', '')}{level})"

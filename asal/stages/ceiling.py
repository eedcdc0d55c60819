"""The supervised ceiling: 03's network and recipe trained once on every pool label.

What the active-learning runs approach as labels accumulate: the same body (its pretrained
weights, or the seed's random one), the same head recipe, fitted on the whole labeled pool
and evaluated on the test split, which it never trains on (the evidence head chooses its
prior on the pool's labels as every cycle does: by cross-validation where the profile's
head_cv_from allows). Beside it, for comparison, the two parts it combines: the scorer
alone (its evidence's test AUROC) and a features-only logistic regression on the same
frozen features, its L2 strength chosen on the pool's labels by 5-fold cross-validation.
Writes
runs/<exp>/<cat>/ceiling/seed<seed>/: metrics.json, config.json and model.pt
(asal/stages/artefact.py), as one set.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import numpy as np
import torch
from sklearn.linear_model import LogisticRegressionCV
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from asal.config.layout import CONFIG_JSON, METRICS_JSON, MODEL, PROVENANCE_JSON, ceiling_dir
from asal.data.images import load_split, load_test
from asal.errors import AsalError
from asal.io import exclusive, json_text, torch_bytes, write_set
from asal.models.classifier import evaluate
from asal.models.networks import Timer
from asal.order import content_order
from asal.provenance import provenance, run_record
from asal.runtime import configure
from asal.stages.active_learning.learners import LEARNERS
from asal.stages.active_learning.pretext_inputs import initial_weights
from asal.stages.artefact import make_artefact
from asal.stages.claims import refuse_other_parameters

if TYPE_CHECKING:
    from asal.config.schema import Params


def _labeled_pool_and_test(cfg: Params):
    if cfg.oracle == "file":
        raise AsalError("The ceiling trains on every pool label, and oracle 'file' labels the "
                        "pool one query at a time (a person's labels); run it on a labeled "
                        "pool (train/good, train/anomaly) with oracle 'folders'.")
    pool = load_split(cfg.data_root, cfg.category, "train", cfg.image_size, cfg.use_grayscale)
    if not pool.labeled:
        raise AsalError(f"The pool of {cfg.category} is unlabeled (train/unlabeled/), and the "
                        "ceiling trains on every pool label; sort it into good/ and anomaly/.")
    test = load_test(cfg.data_root, cfg.category, cfg.image_size, cfg.use_grayscale)
    if test is None:
        raise AsalError(f"{cfg.category} has no test split, and the ceiling is a test AUROC; "
                        "add test/good and test/anomaly.")
    return pool, test


FEATURES_ONLY_CS = np.geomspace(1e-4, 10.0, 11)     # scikit-learn's C, 10^-4 .. 10


def features_only_auroc(pool_x, pool_y, test_x, test_y) -> float:
    """The test AUROC of a logistic regression on the frozen features alone, standardised
    on the pool, its C chosen by the pool's held-out AUROC (5 stratified folds, dealt in
    the order of pool_x, which the caller sorts by content)."""
    model = make_pipeline(StandardScaler(), LogisticRegressionCV(
        Cs=FEATURES_ONLY_CS, cv=StratifiedKFold(5), scoring="roc_auc", max_iter=10_000,
        l1_ratios=(0.0,), use_legacy_attributes=False))
    model.fit(pool_x, pool_y)
    return float(roc_auc_score(test_y, model.decision_function(test_x)))


def parts_of_the_ceiling(learner, pool, test) -> dict:
    """What a frozen learner's ceiling combines, each alone on the test split: the
    features-only head, and the scorer's evidence where the learner reads it."""
    parts = {}
    if hasattr(learner, "pool_x"):
        order = content_order(pool.images)      # the folds: never the pool's path order
        parts["features_only_auroc"] = features_only_auroc(
            learner.pool_x[order], pool.labels.numpy()[order], learner.body.x["test"],
            test.labels.numpy())
    if hasattr(learner, "z"):
        parts["scorer_auroc"] = float(roc_auc_score(test.labels.numpy(), learner.z["test"]))
    return parts


def run_ceiling(cfg: Params) -> dict:
    """Train on every pool label once; the test metrics (also written to metrics.json)."""
    out = ceiling_dir(cfg)
    with exclusive(out, f"training the ceiling of {cfg.category} seed {cfg.seed}"):
        refuse_other_parameters(out, cfg, "ceiling")
        device = configure(cfg)
        pool, test = _labeled_pool_and_test(cfg)
        learner = LEARNERS[cfg.head](cfg, initial_weights(cfg, pool), pool, test, device)
        timer, start = Timer(device), time.perf_counter()
        everything, labels = list(range(len(pool))), pool.labels.tolist()
        trained = learner.train(None, 0, everything, labels,
                                torch.Generator().manual_seed(cfg.seed), timer,
                                lambda logits: evaluate(logits, test.labels.numpy()))
        threshold = learner.threshold(trained.state, 0, everything, labels)
        result = evaluate(learner.logits(trained.state, 0, "test"), test.labels.numpy(),
                          threshold=threshold[0])
        metrics = {"category": cfg.category, "seed": cfg.seed, "head": cfg.head,
                   "pool_labels": len(pool), "pool_defects": int(pool.labels.sum()),
                   **result, "train_loss": trained.rows[-1]["train_loss"],
                   **parts_of_the_ceiling(learner, pool, test)}
        record = run_record(cfg)
        made = provenance(device, train_seconds=time.perf_counter() - start)
        model = make_artefact(cfg, learner.artefact_parts(trained.state), threshold, labels,
                              out, {**record, "provenance": made}, pool_paths=pool.paths)
        write_set(out, {METRICS_JSON: json_text(metrics), CONFIG_JSON: json_text(record),
                        PROVENANCE_JSON: json_text(made), MODEL: torch_bytes(model)})
    return metrics

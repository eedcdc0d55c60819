"""The parameters of each stage, one pydantic model per section (stage 01's scorers in
asal/config/scoring.py); `Params` (asal/config/schema.py) merges them. A field's description is its one line of
documentation: the parameter reference, the notebooks' parameters cells and the error
messages come from it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from asal.models.learner_names import BODY_FEATURES, LEARNER_NAMES
from asal.models.scorer_names import SCORER_NAMES
from asal.models.strategies import INIT_NAMES, QUERY_BATCHES, QUERY_NAMES
from asal.project import PROJECT_ROOT

PRETRAINED_KEYWORDS = ("none", "imagenet", "self_supervised")


def existing_file(value: str, keywords: str) -> str:
    """The absolute path of a weights file (relative ones from the project folder)."""
    path = Path(value).expanduser()
    path = path if path.is_absolute() else PROJECT_ROOT / path
    if not path.is_file():
        raise ValueError(f"{keywords} or the path of a ResNet18 state_dict ({path} does not "
                         "exist)")
    return str(path)


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Where(Section):
    """Where the data and the outputs are, and what computes."""

    category: str | None = Field(None, description="one category of the data root")
    data_root: str = Field("data", description="the folder holding <category>/train and "
                           "test (or set ASAL_DATA)")
    runs_root: str = Field("runs", description="where runs/<exp>/ is written (or set "
                           "ASAL_RUNS)")
    figures_root: str = Field("figures", description="where figures/<exp>/ is written (or "
                              "set ASAL_FIGURES)")
    exp: str | None = Field(None, description="the experiment, the folder under runs/ and "
                            "figures/; None: the profile's file name")
    device: str = Field("auto", pattern=r"^(auto|cpu|cuda(:\d+)?)$",
                        description="auto (the first GPU, else the CPU), cpu, cuda or cuda:N")
    cpu_threads: int = Field(0, ge=0, description="torch's CPU threads, 0 for all cores "
                             "(numbers on the CPU depend on it)")


class Images(Section):
    """How images are decoded and normalised, for every network."""

    image_size: int = Field(ge=32, le=2048, multiple_of=32,
                            description="side in pixels of the square each image is "
                            "resized to; a multiple of 32 (DRAEM pools 5 times)")
    grayscale: bool | Literal["auto"] = Field("auto", description="3-channel grayscale for "
                                              "the classifier; auto: the paper's grid, "
                                              "screw and zipper")
    normalize_mean: list[float] = Field([0.3337, 0.3064, 0.3171], min_length=3, max_length=3,
                                        description="per-channel mean the classifier's "
                                        "input is normalised with")
    normalize_std: list[float] = Field([0.2672, 0.2564, 0.2629], min_length=3, max_length=3,
                                       description="per-channel standard deviation, "
                                       "likewise")

    @field_validator("normalize_std")
    @classmethod
    def _positive_std(cls, value):
        if min(value) <= 0:
            raise ValueError("three positive numbers")
        return value


class Pretext(Section):
    """Stage 00: self-supervised pretraining of the classifier's network on the pool."""

    pretext_task: Literal["synthesis", "rotation"] = Field(
        "synthesis", description="synthesis: tell pool images from ones with a pasted "
        "anomaly; rotation: predict a quarter turn (PT4AL's task and ranking)")
    pretext_seed: int = Field(0, ge=0, description="seeds the pretext network; in its path "
                              "(pretext/<task>/seed<k>/)")
    synthesis_epochs: int = Field(40, gt=0, description="passes over the pool of the "
                                  "synthesis task")
    rotation_epochs: int = Field(15, gt=0, description="passes of the rotation task (each "
                                 "shows every image in 4 turns)")
    pretext_batch_size: int = Field(32, ge=2, description="images per training step")
    pretext_lr: float = Field(1e-3, gt=0, description="Adam's learning rate (cosine "
                              "schedule)")


class Batches(Section):
    """Stage 02: the sorted pool cut into batches."""

    n_batches: int = Field(5, gt=0, description="K, the batches the sorted pool is cut into")
    batches_dir: str | None = Field(None, description="a folder of batch0.txt .. (e.g. the "
                                    "paper's published rankings) used instead of 02's")


class Learning(Section):
    """Stage 03: the initial set and the active-learning cycles."""

    init: Literal[INIT_NAMES] = Field("asal", description="the initial selection: "
                                      + ", ".join(INIT_NAMES))
    seed: int = Field(0, ge=0, description="seeds the classifier and its picks; in its "
                      "path (al/<init>/<query>/seed<k>/)")
    oracle: Literal["folders", "file"] = Field("folders", description="where labels come "
                                               "from: folders (good/, anomaly/: a "
                                               "simulation) or file (labels.csv, a person)")
    labels_csv: str | None = Field(None, description="the labels of oracle file; None: "
                                   "runs/<exp>/<category>/labels.csv")
    per_batch: int = Field(2, gt=0, description="images ASAL takes from the top of every "
                           "batch")
    query: Literal[QUERY_NAMES] = Field("least_confidence", description="how a cycle picks "
                                        "its images: " + ", ".join(QUERY_NAMES))
    query_size: int = Field(1, gt=0, description="images labeled per cycle after the first "
                            "(at least; see query_growth)")
    query_growth: float = Field(0.0, ge=0, description="a cycle asks for at least this share "
                                "of the labeled set (rounded up), so budgets of hundreds "
                                "take tens of cycles; 0: query_size every cycle")
    label_marks: list[int] = Field([], description="labeled-set sizes a growing query "
                                   "never jumps over, so every run has a cycle at each "
                                   "(e.g. 20, 50, 100, 200)")
    query_batch: Literal[QUERY_BATCHES] = Field("top", description="how a cycle picks its "
                                                "query_size images: top (the most "
                                                "uncertain) or clustered (the most uncertain "
                                                "of each of query_size k-means clusters of "
                                                "the 5 x query_size most uncertain, on the "
                                                "classifier's features)")
    cycles: int = Field(10, gt=0, description="active-learning cycles, the first on the "
                        "initial set")
    epochs: int = Field(20, gt=0, description="training epochs per cycle")
    batch_size: int = Field(10, gt=0, description="labeled images per training step")
    lr: float = Field(1e-3, gt=0, description="Adam's learning rate")
    weight_decay: float = Field(5e-4, ge=0, description="Adam's weight decay")
    pretrained: str = Field("none", description="the classifier's start: none, imagenet "
                            "(the paper), self_supervised (stage 00's network) or the path "
                            "of a ResNet18 state_dict")
    freeze_body: bool = Field(False, description="train only the 2-way head on a frozen "
                              "body (its BatchNorm statistics too)")
    head: Literal[LEARNER_NAMES] = Field("adam", description="the classifier's learner: adam "
        "(minibatch epochs of the network), lbfgs (a logistic regression on the frozen "
        "body's features, fitted every cycle) or evidence (the scorer's evidence beside "
        "those features, anchored at the scorer, its prior set by the labels)")
    body_features: list[Literal[BODY_FEATURES]] = Field(
        ["layer4_mean"], min_length=1, description="lbfgs and evidence: the frozen body's "
        "pooled features, layer<k>_mean or layer<k>_max (layer4_mean: the network's own)")
    head_c: float = Field(1.0, gt=0, description="lbfgs: the inverse strength of the L2 "
                          "penalty on the features' weights (scikit-learn's C)")
    head_balanced: bool = Field(False, description="lbfgs: weigh the classes inversely to "
                                "their counts in the labeled set")
    evidence_prior: float = Field(2.0, description="evidence: the prior mean of the weight "
                                  "on the anomaly evidence (a normal score of its pool rank)")
    evidence_c: float = Field(0.1, gt=0, description="evidence: that weight's prior variance")
    head_tau_scale: float = Field(0.5, gt=0, description="evidence: the mean of the "
                                  "exponential hyperprior on tau, the prior standard "
                                  "deviation of the features' part of the logit, which "
                                  "each fit chooses on the labels")
    head_cv_from: int | None = Field(None, ge=2, description="evidence: from this many "
                                     "labels of each class, each fit chooses tau by "
                                     "cross-validation of the ranking instead of by "
                                     "evidence maximisation (null: never)")
    head_anchor_bf: float = Field(1.0, ge=1, description="evidence: below head_cv_from, the "
                                  "features join only where the labels' evidence for the "
                                  "chosen tau beats the scorer alone (tau 0) by this Bayes "
                                  "factor (1: the most likely tau; 3: 'positive' "
                                  "evidence on Kass and Raftery's scale)")
    head_cv_se: float = Field(0.0, ge=0, description="evidence: from head_cv_from, the "
                              "features join only where the chosen tau's held-out AUROC "
                              "beats tau 0's by this many standard errors of their "
                              "difference over the folds (0: off; 1: the "
                              "one-standard-error rule)")
    protocol: Literal["clean", "paper"] = Field("clean", description="clean (the last "
                                                "epoch, no double labels) or paper (the "
                                                "published code, faults included)")
    reinit_each_cycle: bool = Field(False, description="start every cycle from the initial "
                                    "weights instead of the last cycle's")
    eval_every_epoch: bool = Field(False, description="test metrics of every epoch, not "
                                   "only the reported last one")
    stop_kappa: float = Field(0.99, gt=0, le=1, description="the stopping rule: stop when "
                              "the mean Cohen's kappa of successive cycles' predictions on "
                              "the pool reaches this (stabilizing predictions)")
    stop_window: int = Field(3, gt=0, description="the stopping rule: the kappas averaged")
    stop_min_defects: int = Field(2, ge=0, description="the stopping rule: never before the "
                                  "labeled set holds this many defects")
    stop_max_labels: int | None = Field(None, gt=0, description="the stopping rule: stop at "
                                        "this many labels whatever kappa says (None: no "
                                        "budget)")

    @field_validator("pretrained")
    @classmethod
    def _keyword_or_file(cls, value):
        if value in PRETRAINED_KEYWORDS:
            return value
        return existing_file(value, ", ".join(PRETRAINED_KEYWORDS))


class Results(Section):
    """Stage 04: the tables and figures of an experiment."""

    rankings_dir: str | None = Field(None, description="a folder of <category>/batch0.txt "
                                     ".. whose premise table 04 shows (e.g. the paper's "
                                     "loss_batch/anomaly_scores_draem)")
    budget_labels: int | None = Field(None, gt=0, description="the labels at which 04 reads "
                                      "its final and AUBC numbers (the paper's 19); None: "
                                      "the last cycle's. Labels saved use every cycle")


class Workflow(Section):
    """What the Snakemake workflow runs: categories x inits x seeds."""

    categories: list[str] = Field([], description="the categories of the experiment")
    inits: list[Literal[INIT_NAMES]] = Field(["asal", "random"], min_length=1,
                                             description="the initial selections compared")
    seeds: list[int] = Field([0, 1, 2], min_length=1, description="the seeds of every "
                             "init")
    queries: list[Literal[QUERY_NAMES]] = Field(["least_confidence"], min_length=1,
                                                description="the query strategies of every "
                                                "init and seed; 04's tables use the first, "
                                                "and compare the others with it")
    query_inits: list[Literal[INIT_NAMES]] | None = Field(
        None, description="the inits whose runs repeat with the queries after the first "
        "(None: every init)")
    ceiling: bool = Field(False, description="also train the classifier on every pool "
                          "label, the supervised ceiling 04 draws (needs a labeled pool)")
    scorers: list[Literal[SCORER_NAMES]] = Field(
        [], description="the scorers 04 compares with the one that ranks the pool (scorer), "
        "each fitted with the experiment's scorer seeds")
    compared_seeds: int | None = Field(None, gt=0, description="fit the compared scorers with "
                                       "only this many of the scorer seeds (None: all)")
    draem_normal: bool = Field(True, description="also train DRAEM on the good images, for "
                               "04's DRAEM_normal baseline (with the first scorer seed)")
    tie_seeds: bool = Field(False, description="seed k is a whole replicate: scorer_seed and "
                            "pretext_seed follow seed unless given")
    mvtec_src: str | None = Field(None, description="the unpacked MVTec AD folder the "
                                  "workflow prepares its categories from")

    @field_validator("seeds")
    @classmethod
    def _non_negative(cls, value):
        if min(value) < 0:
            raise ValueError("a list of non-negative integers")
        return value

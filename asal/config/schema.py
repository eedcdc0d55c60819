"""Every parameter of the project, typed: the stages' sections (asal/config/sections.py)
merged in `Params`, with the rules across them and what each stage's folder is owned by.

A profile (params/*.yaml) gives values, explicit values win over it, and what neither
gives takes the default; a field without a default must come from the profile.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from asal.categories import GRAYSCALE_CATEGORIES
from asal.config.scoring import Scoring
from asal.config.sections import (PRETRAINED_KEYWORDS, Batches, Images, Learning, Pretext,
                                  Results, Where, Workflow)
from asal.models.learner_names import FROZEN, READS_EVIDENCE
from asal.models.scorer_names import identity_parameters
from asal.models.strategies import INITS
from asal.project import shown

# Parameters that hold paths: resolved from the project folder, recorded relative to it.
PATH_KEYS = ("data_root", "runs_root", "figures_root", "anomaly_source_dir", "scores_csv",
             "batches_dir", "rankings_dir", "labels_csv", "mvtec_src")


class Params(Where, Images, Scoring, Pretext, Batches, Learning, Results, Workflow):
    """One resolved set of parameters; read as attributes (`cfg.image_size`)."""

    profile: str = Field("synthetic", description="the profile the values came from")

    @model_validator(mode="after")
    def _a_fitted_head_needs_a_frozen_body(self):
        if self.head in FROZEN and not (self.freeze_body and self.protocol == "clean"):
            raise ValueError(f"head {self.head} fits a logistic regression on a frozen "
                             "body's features; set freeze_body to true and protocol to "
                             "clean, or head to adam")
        if self.head in READS_EVIDENCE and self.scorer == "csv":
            raise ValueError(f"head {self.head} reads the scorer's evidence of every image "
                             "it scores, and the csv scorer cannot score a new image; rank "
                             "the pool with a scorer that can (ensemble, patches, draem ...) "
                             "or use head lbfgs")
        if self.label_marks and sorted(set(self.label_marks)) != self.label_marks:
            raise ValueError("label_marks must be increasing labeled-set sizes, such as "
                             "[20, 50, 100, 200]")
        return self

    @model_validator(mode="after")
    def _scorers_have_what_they_need(self):
        if self.scorer == "csv" and not self.scores_csv:
            raise ValueError("scorer csv reads another detector's scores; set scores_csv to "
                             "the CSV's path")
        if self.scores_csv and "csv" not in (self.scorer, *self.ensemble, *self.scorers):
            raise ValueError("scores_csv is read by the csv scorer only; set scorer to csv "
                             "to rank the pool by it")
        if "ensemble" in self.ensemble:
            raise ValueError("the ensemble cannot hold itself; list other scorers in ensemble")
        return self

    @property
    def use_grayscale(self) -> bool:
        if self.grayscale == "auto":
            return self.category in GRAYSCALE_CATEGORIES
        return bool(self.grayscale)

    @property
    def uses_pretext_network(self) -> bool:
        """Whether the classifier starts from stage 00's network (pretrained: self_supervised)."""
        return self.pretrained == "self_supervised"

    def runs(self) -> list[tuple[str, str]]:
        """(init, query) of every run per category and seed: every init with the first
        query, and the query_inits with the others."""
        others = self.inits if self.query_inits is None else self.query_inits
        return [(i, self.queries[0]) for i in self.inits] + \
            [(i, q) for q in self.queries[1:] for i in others]

    def scorer_seed_of(self, seed: int) -> int:
        """The scorer seed of the run with classifier seed `seed` (itself with tie_seeds)."""
        return seed if self.tie_seeds else self.scorer_seed

    def pretext_seed_of(self, seed: int) -> int:
        return seed if self.tie_seeds else self.pretext_seed

    @property
    def scorer_seeds(self) -> list[int]:
        """Every scorer seed the experiment's runs use."""
        return sorted({self.scorer_seed_of(s) for s in self.seeds})

    @property
    def compared_scorer_seeds(self) -> list[int]:
        """The scorer seeds the compared scorers (scorers) are fitted with."""
        return self.scorer_seeds[:self.compared_seeds]

    @property
    def pretext_seeds(self) -> list[int]:
        return sorted({self.pretext_seed_of(s) for s in self.seeds})

    def pretext_tasks(self, init: str | None = None) -> list[str]:
        """The pretext networks a run of 03 needs: the one its classifier starts from, and
        the rotation network whose losses rank the pool for pt4al and asal_rotation."""
        tasks = {self.pretext_task} if self.uses_pretext_network else set()
        if "rotation" in INITS[init or self.init].needs:
            tasks.add("rotation")
        return sorted(tasks)

    def record(self) -> dict:
        """The values as provenance records them: paths relative to the project folder, and
        a parameter of RECORDED_IF_SET left out while it holds its default."""
        values = {k: v for k, v in self.model_dump().items()
                  if not (k in RECORDED_IF_SET and v == Params.model_fields[k].default)}
        for key in PATH_KEYS:
            if values.get(key) is not None:
                values[key] = shown(values[key])
        if values["pretrained"] not in PRETRAINED_KEYWORDS:
            values["pretrained"] = shown(values["pretrained"])
        if values["scorer_body"] != "none":
            values["scorer_body"] = shown(values["scorer_body"])
        return values

    def identity(self, stage: str) -> dict:
        """The values of the parameters that decide a stage's numbers (IDENTITY); those of
        the scores, the scorer's own parameters included."""
        values = self.record()
        names = IDENTITY[stage] + (identity_parameters(self.scorer, self.ensemble)
                                   if stage == "scores" else ())
        return {k: values[k] for k in names if k in values}

    def first_difference(self, made: dict, stage: str) -> str | None:
        """The first parameter of IDENTITY[stage] whose value `made` records otherwise; a
        record without a parameter (made before it existed, or at its default where it is
        in RECORDED_IF_SET) was made with its default."""
        mine = self.identity(stage)
        names = IDENTITY[stage] + tuple(k for k in mine if k not in IDENTITY[stage])
        default = {k: Params.model_fields[k].default for k in names}
        return next((k for k in names
                     if made.get(k, default[k]) != mine.get(k, default[k])), None)


SECTIONS = (Where, Images, Scoring, Pretext, Batches, Learning, Results, Workflow)
# Parameters that decide a stage's numbers: a folder holding a result made with other
# values is refused (never written over). `cycles` is not among them: more cycles
# continue a run.
IDENTITY = {
    "scores": ("category", "scorer", "train_on", "scorer_seed", "image_size"),
    "pretext": ("category", "pretext_task", "pretext_seed", "image_size", "grayscale",
                "synthesis_epochs", "rotation_epochs", "pretext_batch_size", "pretext_lr",
                "normalize_mean", "normalize_std", "anomaly_source_dir"),
    "al": ("category", "image_size", "grayscale", "init", "per_batch", "n_batches", "query",
           "query_size", "query_growth", "label_marks", "query_batch", "epochs",
           "batch_size", "lr", "freeze_body", "head", "body_features", "head_c",
           "head_balanced", "evidence_prior", "evidence_c", "head_tau_scale", "head_cv_from",
           "weight_decay", "pretrained", "pretext_task", "synthesis_epochs", "rotation_epochs",
           "pretext_batch_size", "pretext_lr", "pretext_seed", "scorer", "scorer_seed",
           "protocol", "reinit_each_cycle", "eval_every_epoch", "normalize_mean",
           "normalize_std", "seed", "batches_dir", "stop_kappa", "stop_window",
           "stop_min_defects", "stop_max_labels", "head_anchor_bf", "head_cv_se"),
    "ceiling": ("category", "image_size", "grayscale", "epochs", "batch_size", "lr",
                "freeze_body", "head", "body_features", "head_c", "head_balanced",
                "evidence_prior", "evidence_c", "head_tau_scale", "head_cv_from",
                "head_anchor_bf", "head_cv_se", "scorer", "scorer_seed", "weight_decay",
                "pretrained", "pretext_task", "synthesis_epochs", "pretext_batch_size",
                "pretext_lr", "pretext_seed", "normalize_mean", "normalize_std", "seed"),
}
# Parameters added after runs were committed, each at the default that made those runs:
# recorded (config.json, the resolved profile, the loop's checkpoint fingerprint) only
# where a run sets another value, so adding one rewrites no earlier run's record and
# leaves its checkpoint continuable. A new parameter of a stage belongs here.
RECORDED_IF_SET = ("head_anchor_bf", "head_cv_se")

"""Stage 01's parameters: the anomaly scorer that ranks the pool and each scorer's own
(a section of `Params`, asal/config/schema.py; the others are in asal/config/sections.py).
"""

from typing import Literal

from pydantic import Field, field_validator

from asal.config.sections import Section, existing_file
from asal.models.scorer_names import SCORER_NAMES


class Scoring(Section):
    """Stage 01: the anomaly scorer fitted on the pool (asal/models/scorers/), and the
    parameters of each scorer."""

    scorer: Literal[SCORER_NAMES] = Field(
        "ensemble", description="what ranks the pool: " + ", ".join(SCORER_NAMES)
        + " (docs/scorers.md)")
    train_on: Literal["mixed", "normal"] = Field("mixed", description="mixed: the whole "
                                                 "unlabeled pool (ASAL); normal: its good "
                                                 "images only (a baseline, as DRAEM_normal)")
    scorer_seed: int = Field(0, ge=0, description="seeds the scorer (DRAEM's training, the "
                             "untrained network of features and patches); in the path of "
                             "its scores (scores/<scorer>/<train_on>/seed<k>/)")
    ensemble: list[Literal[SCORER_NAMES]] = Field(
        ["patches", "pixels"], description="the scorers the ensemble combines, the first "
        "carrying the evidence (ensemble_rule)")
    ensemble_rule: Literal["guarded", "rank"] = Field(
        "guarded", description="ensemble: guarded (the first member's robust z, or the "
        "members' Stouffer combination where higher) or rank (the mean of their pool ranks)")
    scorer_body: str = Field("none", description="features and patches: the network they "
                             "look through, none (the scorer seed's untrained ResNet18) or "
                             "the path of a ResNet18 state_dict (such as a pretext network's "
                             "backbone.pt)")
    features_k: int = Field(5, gt=0, description="features: the nearest pool images whose "
                            "mean distance is an image's score")
    patches_top: int = Field(10, gt=0, description="patches: an image's score is the mean of "
                             "its this many highest patch scores (1: PatchCore's maximum)")
    patches_radius: int = Field(1, ge=0, description="patches: a patch meets the other "
                                "images' patches within this many grid cells of its place")
    patches_networks: int = Field(3, gt=0, description="patches: untrained networks whose "
                                  "scores are averaged (one with a scorer_body file)")
    patches_reference: int = Field(1000, gt=0, description="patches: at most this many pool "
                                   "images make the memory (a seeded sample of a larger pool)")
    patches_denoise: float = Field(0.0, ge=0, lt=1, description="patches: the share of each "
                                   "place's patches the pool marks as outliers, left out of "
                                   "the memory (SoftPatch; 0: none)")
    pixels_share: float = Field(0.005, gt=0, le=1, description="pixels: the share of an "
                                "image's most deviant pixels whose mean is its score")
    pixels_tail: Literal["dark", "bright", "both"] = Field(
        "dark", description="pixels: which deviations count, darker than the pool, brighter, "
        "or both")
    draem_epochs: int = Field(gt=0, description="DRAEM: passes over the training images")
    draem_batch_size: int = Field(8, gt=0, description="DRAEM: images per training step")
    draem_lr: float = Field(1e-4, gt=0, description="DRAEM: Adam's learning rate")
    draem_recon_width: int = Field(gt=0, description="DRAEM: base width of the "
                                   "reconstructive network (the paper: 128)")
    draem_disc_width: int = Field(gt=0, description="DRAEM: base width of the "
                                  "discriminative network (the paper: 64)")
    draem_checkpoint_every: int = Field(10, gt=0, description="DRAEM: epochs between "
                                        "resumable checkpoints")
    draem_score_filter: int = Field(21, ge=1, description="DRAEM: side of the mean filter "
                                    "over the anomaly map before its maximum is the image "
                                    "score (odd; the paper's 21 is for 256 px)")
    anomaly_source_dir: str | None = Field(None, description="DRAEM and the synthesis "
                                           "pretext task: a folder of texture images for "
                                           "the synthetic anomalies (the paper: DTD); "
                                           "None: built-in procedural textures")
    scores_csv: str | None = Field(None, description="csv: a CSV of path,score from "
                                   "another detector")

    @field_validator("draem_score_filter")
    @classmethod
    def _odd(cls, value):
        if value % 2 == 0:
            raise ValueError("an odd number")
        return value

    @field_validator("scorer_body")
    @classmethod
    def _none_or_file(cls, value):
        return value if value == "none" else existing_file(value, "none")

    @field_validator("ensemble")
    @classmethod
    def _members(cls, value):
        if not value:
            raise ValueError("a list of at least one scorer, such as [patches, pixels]: the "
                             "ensemble combines their scores")
        return value

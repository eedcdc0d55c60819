"""A finished run's classifier as one self-describing file: model.pt.

03 and the ceiling write it when their run is finished. Besides the ResNet18's weights it
holds what is needed to score a new image the way the run scored its own: the image size,
the channels (grayscale or colour), the normalisation, the class names, the head on the
frozen body's features where the learner has one, the decision threshold with the rule
that chose it (asal/models/threshold.py: the pool and its labels, never a test split),
the DRAEM run whose anomaly score can stand beside the prediction, and the run's record
(its parameters and provenance). It is a plain dict of tensors, numbers and strings, so
torch.load(weights_only=True) reads it.
"""

from __future__ import annotations

import json
import os
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from asal.config.layout import MODEL, ranking_scorer, scores_dir
from asal.data.decode import image_header
from asal.errors import AsalError
from asal.models.classifier import predict_logits
from asal.models.evidence_ranks import normal_scores
from asal.models.frozen_features import frozen_features, head_logit
from asal.models.networks import Normalizer, Timer
from asal.models.resnet import build_resnet18
from asal.stages.active_learning.learners.base import ArtefactParts
from asal.stages.run_folders import folder_kind, why_no_model
from asal.stages.scorer_files import saved_scorer, scorer_from_file

FORMAT = "asal-classifier/3"
CLASS_NAMES = ["good", "defect"]      # index = label; a pool's folders say good/anomaly


def defect_probability(model, images: torch.Tensor, mean, std, device) -> np.ndarray:
    """p(defect) of uint8 images (N, 3, H, W): softmax of the logits, as 03 evaluates."""
    logits = predict_logits(model.to(device), images.to(device), Normalizer(mean, std, device),
                            Timer(device))
    return torch.softmax(logits, 1)[:, 1].numpy()


def scorer_folder(cfg, run_dir: Path) -> str | None:
    """The scores folder of the scorer that ranked this run's pool, relative to the run
    folder, or None."""
    folder = ranking_scorer(cfg)
    return None if folder is None else os.path.relpath(folder, run_dir)


def pool_formats(paths) -> list[list]:
    """The (width, height, PIL mode) of a pool's image files, each once: what predict
    takes as the run's own kind of image."""
    return [[w, h, m] for (w, h), m in sorted({image_header(Path(p)) for p in paths})]


def make_artefact(cfg, parts: ArtefactParts, threshold: tuple[float, str],
                  labels: list[int], run_dir: Path, record: dict, *, pool_paths) -> dict:
    """model.pt's content: the learner's parts (the network's weights; the head on frozen
    features and the evidence where it has them), the input recipe, and the threshold with
    its rule (chosen on the pool and its labels, never on a test split). Evidence goes
    with the scorer that computes it for a new image."""
    value, rule = threshold
    evidence = parts.evidence and {**parts.evidence,
                                   "scorer": saved_scorer(scores_dir(cfg, "mixed"))}
    return {"format": FORMAT, "state_dict": {k: v.cpu() for k, v in parts.state_dict.items()},
            "head": parts.head, "evidence": evidence,
            "image_size": cfg.image_size, "grayscale": bool(cfg.use_grayscale),
            "channels": 3, "normalize_mean": list(cfg.normalize_mean),
            "normalize_std": list(cfg.normalize_std), "class_names": CLASS_NAMES,
            "threshold": value, "threshold_rule": rule, "labeled_images": len(labels),
            "labeled_defects": int(sum(labels)), "pool_formats": pool_formats(pool_paths),
            "scorer": scorer_folder(cfg, run_dir), "record": json.dumps(record)}


def load_artefact(run_dir) -> dict:
    """The model.pt of a finished run of 03 (or of a ceiling), checked; any other folder is
    told apart and named (asal/stages/run_folders.py)."""
    run_dir = Path(run_dir)
    path = run_dir / MODEL
    kind = folder_kind(run_dir).kind
    if kind not in ("al", "ceiling") or not path.is_file():
        raise AsalError(why_no_model(run_dir))
    try:
        artefact = torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, EOFError, ValueError, pickle.UnpicklingError) as err:
        raise AsalError(f"Cannot read {path} ({err}); run 03 again to rewrite it.") from None
    if not isinstance(artefact, dict) or artefact.get("format") != FORMAT:
        if isinstance(artefact, dict) and {"conv1.weight", "fc.weight"} <= set(artefact):
            raise AsalError(f"{path} is a bare ResNet18 state_dict of an older asal, without "
                            "image size, normalisation or threshold; run 03 again on that "
                            "folder (it continues from its checkpoint where one is kept) to "
                            "rewrite it.")
        if isinstance(artefact, dict) and str(artefact.get("format", "")).startswith(
                "asal-classifier/"):
            raise AsalError(f"{path} was written by an older asal ({artefact['format']}, this "
                            f"one reads {FORMAT}); run 03 again on that folder to rewrite it.")
        raise AsalError(f"{path} is not a classifier written by asal; give a finished run's "
                        "folder whose model.pt 03 wrote.")
    return artefact


@dataclass
class Classifier:
    """A loaded artefact: p(defect) and the predicted class of decoded images."""

    artefact: dict
    run_dir: Path
    device: torch.device

    @classmethod
    def load(cls, run_dir, device: torch.device | None = None) -> "Classifier":
        artefact = load_artefact(run_dir)
        return cls(artefact, Path(run_dir), device or torch.device("cpu"))

    def network(self) -> torch.nn.Module:
        model = build_resnet18("none")
        model.load_state_dict(self.artefact["state_dict"])
        return model.eval()

    def p_defect(self, images: torch.Tensor) -> np.ndarray:
        """p(defect) of uint8 images, as the run's loop computed it."""
        a = self.artefact
        if a.get("head") is None:
            return defect_probability(self.network(), images, a["normalize_mean"],
                                      a["normalize_std"], self.device)
        x = torch.from_numpy(frozen_features(self.network().to(self.device), images,
                                             self.normalizer(), a["head"]["features"]))
        z = None if a.get("evidence") is None else torch.from_numpy(self.evidence(images))
        return torch.sigmoid(head_logit(x, a["head"], z)).numpy()

    def normalizer(self) -> Normalizer:
        a = self.artefact
        return Normalizer(a["normalize_mean"], a["normalize_std"], self.device)

    def evidence(self, images: torch.Tensor) -> np.ndarray:
        """The images' anomaly evidence, as the head read it: the normal score of each
        image's score among the pool's, by the scorer kept in the artefact."""
        saved = self.artefact["evidence"]
        if saved["scorer"] is None:
            raise AsalError(f"The classifier of {self.run_dir} reads the anomaly evidence of "
                            "the scorer that ranked its pool, and that scorer's model.pt was "
                            "not on disk when the run finished (model files are not "
                            "committed); run notebooks/01_scores.ipynb with the run's "
                            "parameters, then 03 again, to make both.")
        scorer = scorer_from_file(saved["scorer"])
        return normal_scores(saved["pool_scores"].numpy(), scorer.anomaly_scores(images))

    def label(self, p_defect: np.ndarray) -> list[str]:
        return [CLASS_NAMES[int(p >= self.artefact["threshold"])] for p in p_defect]

    def scorer(self) -> Path | None:
        """The scores folder named in the artefact, if its model is still there."""
        rel = self.artefact.get("scorer")
        folder = (self.run_dir / rel).resolve() if rel else None
        return folder if folder is not None and (folder / MODEL).is_file() else None

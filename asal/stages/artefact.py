"""A finished run's classifier as one self-describing file: model.pt.

03 and the ceiling write it when their run is finished. Besides the ResNet18's weights it
holds what is needed to score a new image the way the run scored its own: the image size,
the channels (grayscale or colour), the normalisation, the class names, the decision
threshold with the rule that chose it (asal/models/threshold.py: labeled images only),
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

from asal.config.layout import CONFIG_JSON, METRICS_CYCLE, MODEL, ranking_detector
from asal.errors import AsalError
from asal.models.classifier import build_resnet18, predict_logits
from asal.models.networks import Normalizer, Timer
from asal.models.threshold import labeled_threshold

FORMAT = "asal-classifier/1"
CLASS_NAMES = ["good", "defect"]      # index = label; a pool's folders say good/anomaly


def defect_probability(model, images: torch.Tensor, mean, std, device) -> np.ndarray:
    """p(defect) of uint8 images (N, 3, H, W): softmax of the logits, as 03 evaluates."""
    logits = predict_logits(model.to(device), images.to(device), Normalizer(mean, std, device),
                            Timer(device))
    return torch.softmax(logits, 1)[:, 1].numpy()


def detector_folder(cfg, run_dir: Path) -> str | None:
    """The DRAEM run that ranked this run's pool, relative to the run folder, or None."""
    folder = ranking_detector(cfg)
    return None if folder is None else os.path.relpath(folder, run_dir)


def make_artefact(cfg, state: dict, images: torch.Tensor, labels: list[int], device,
                  run_dir: Path, record: dict) -> dict:
    """model.pt's content: the weights, the input recipe, and the threshold chosen on the
    labeled `images` (the run's own labels, never a test split's)."""
    model = build_resnet18("none")
    model.load_state_dict(state)
    p = defect_probability(model, images, cfg.normalize_mean, cfg.normalize_std, device)
    threshold, rule = labeled_threshold(p, labels)
    return {"format": FORMAT, "state_dict": {k: v.cpu() for k, v in state.items()},
            "image_size": cfg.image_size, "grayscale": bool(cfg.use_grayscale),
            "channels": 3, "normalize_mean": list(cfg.normalize_mean),
            "normalize_std": list(cfg.normalize_std), "class_names": CLASS_NAMES,
            "threshold": threshold, "threshold_rule": rule, "labeled_images": len(labels),
            "labeled_defects": int(sum(labels)),
            "detector": detector_folder(cfg, run_dir), "record": json.dumps(record)}


def _not_finished(run_dir: Path) -> str:
    cycles = run_dir / METRICS_CYCLE
    if not cycles.is_file():
        return "no cycle is done yet"
    done = len(cycles.read_text().splitlines()) - 1
    wanted = json.loads((run_dir / CONFIG_JSON).read_text()).get("cycles", "?")
    return f"{done} of its {wanted} cycles are done"


def load_artefact(run_dir) -> dict:
    """The model.pt of a finished run of 03 (or of a ceiling), checked."""
    run_dir = Path(run_dir)
    if not (run_dir / CONFIG_JSON).is_file():
        why = "does not exist" if not run_dir.exists() else "holds no config.json"
        raise AsalError(f"{run_dir} {why}, so it is not a run folder; give a finished run's "
                        "folder, runs/<exp>/<category>/al/<init>/<query>/seed<k> (or a "
                        "ceiling's).")
    path = run_dir / MODEL
    if not path.is_file():
        raise AsalError(f"{run_dir} is not a finished run ({_not_finished(run_dir)}), so it "
                        "has no model.pt; run notebooks/03_active_learning.ipynb to the end "
                        "with the same parameters first.")
    try:
        artefact = torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, EOFError, ValueError, pickle.UnpicklingError) as err:
        raise AsalError(f"Cannot read {path} ({err}); run 03 again to rewrite it.") from None
    if not isinstance(artefact, dict) or artefact.get("format") != FORMAT:
        raise AsalError(f"{path} is a bare state_dict of an older asal, without image size, "
                        "normalisation or threshold; run 03 again on that folder (it continues "
                        "from its checkpoint where one is kept) to rewrite it.")
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
        a = self.artefact
        return defect_probability(self.network(), images, a["normalize_mean"],
                                  a["normalize_std"], self.device)

    def label(self, p_defect: np.ndarray) -> list[str]:
        return [CLASS_NAMES[int(p >= self.artefact["threshold"])] for p in p_defect]

    def detector(self) -> Path | None:
        """The DRAEM run folder named in the artefact, if its model is still there."""
        rel = self.artefact.get("detector")
        folder = (self.run_dir / rel).resolve() if rel else None
        return folder if folder is not None and (folder / MODEL).is_file() else None

"""The network every part of the project looks through: torchvision's ResNet18 with a
2-way head, untrained (the seed's random weights), from ImageNet (the paper's start) or
from a state_dict file (a pretext network's backbone.pt, an ImageNet copy)."""

from __future__ import annotations

import pickle
from pathlib import Path

import torch
import torch.nn as nn
import torchvision

from asal.errors import AsalError


def _imagenet_state() -> dict:
    """ImageNet weights from torchvision's cache, or downloaded into it."""
    weights = torchvision.models.ResNet18_Weights.IMAGENET1K_V1
    target = Path(torch.hub.get_dir()) / "checkpoints" / Path(weights.url).name
    try:
        return weights.get_state_dict(progress=False, check_hash=False)
    except Exception as err:   # offline: URLError, socket errors, proxies ...
        raise AsalError(f"ImageNet weights for ResNet18 are neither at {target} nor "
                        f"downloadable ({type(err).__name__}); copy {Path(weights.url).name} "
                        "there, pass pretrained=<path to a state_dict>, or use "
                        "pretrained='none'.") from None


def _file_state(path: str) -> dict:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, EOFError, ValueError, pickle.UnpicklingError) as err:
        raise AsalError(f"Cannot load weights from {path} ({err}); give a ResNet18 "
                        "state_dict file, 'imagenet' or 'none'.") from None
    if not isinstance(state, dict):
        raise AsalError(f"{path} does not hold a state_dict; save model.state_dict().")
    return state


def build_resnet18(pretrained: str = "none") -> nn.Module:
    """ResNet18 with a 2-way head; `pretrained` is 'imagenet', 'none' or a state_dict path."""
    model = torchvision.models.resnet18(weights=None)
    if pretrained == "imagenet":
        model.load_state_dict(_imagenet_state())
    model.fc = nn.Linear(model.fc.in_features, 2)
    if pretrained not in ("imagenet", "none"):
        state = _file_state(pretrained)
        state = {k.removeprefix("module."): v for k, v in state.items()}   # DataParallel
        if state.get("fc.weight", torch.zeros(2, 1)).shape[0] != 2:      # a 1000-way head
            state = {k: v for k, v in state.items() if not k.startswith("fc.")}
        missing, unexpected = model.load_state_dict(state, strict=False)
        if unexpected or [k for k in missing if not k.startswith("fc.")]:
            raise AsalError(f"{pretrained} is not a ResNet18 state_dict (missing "
                            f"{len(missing)}, unexpected {len(unexpected)} keys).")
    return model

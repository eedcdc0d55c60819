"""What a run of 03 holds after each cycle, and its checkpoint: what a rerun continues.

The checkpoint (checkpoint.pt, git-ignored) holds the labeled positions in order, the
generator, the model the next cycle continues from, every row written so far, a query
that waits for labels (oracle: file) and the labels the cycles trained with. A finished
run's files are derived from it, so a rerun after a kill ends with the same files.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import torch

from asal.errors import AsalError
from asal.io import torch_bytes

if TYPE_CHECKING:
    from asal.config.schema import Params
    from asal.data.images import Split

CHECKPOINT = "checkpoint.pt"


@dataclass
class LoopResult:
    out_dir: Path
    epochs: pd.DataFrame
    cycles: pd.DataFrame
    labeled: list[str]              # pool keys in order of acquisition
    pool: Split
    timing: dict
    labels: dict[str, int]          # the label of every labeled image, by pool key
    to_label: list[str]             # images the next cycle waits for (oracle: file)
    cycles_planned: int

    @property
    def finished(self) -> bool:
        return len(self.cycles) == self.cycles_planned

    def images_of(self, keys: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """Pool images and labels of the given pool keys, in that order."""
        index = {k: i for i, k in enumerate(self.pool.keys())}
        idx = [index[k] for k in keys]
        return self.pool.images[idx], torch.tensor([self.labels[k] for k in keys])


def check_budget(cfg: Params, pool_size: int, n_init: int):
    budget = n_init + (cfg.cycles - 1) * cfg.query_size
    if budget > pool_size:
        raise AsalError(f"The labeling budget ({n_init} initial + {cfg.cycles - 1} cycles x "
                        f"{cfg.query_size}) = {budget} exceeds the pool of {pool_size}; lower "
                        "cycles or query_size.")


def fingerprint(cfg: Params, batches, pool: Split, initial: list[str]) -> str:
    """What a checkpoint must match to be continued: the run's identity parameters (not
    `cycles`: more cycles continue), the batches, the pool keys and the initial set (a
    baseline's pick also depends on a pretext network)."""
    text = json.dumps([cfg.identity("al"), batches, pool.keys(), initial], sort_keys=True)
    return hashlib.sha1(text.encode()).hexdigest()[:16]


@dataclass
class LoopState:
    labeled: list[int]                      # pool positions, in order of acquisition
    gen: torch.Generator
    cycle: int = 0                          # cycles done
    epoch_rows: list[dict] = field(default_factory=list)
    cycle_rows: list[dict] = field(default_factory=list)
    model_state: dict | None = None         # the model the next cycle continues from
    pending: list | None = None     # [positions, confidences, p_defects] of a waiting query
    predictions: str = ""           # the last cycle's good/defect of every pool image, "0110.."
    timing: dict = field(default_factory=lambda: {"seconds": 0.0, "model_seconds": 0.0})

    def trained_on(self) -> list[int]:
        """The labeled images the cycles so far trained with (not a query still waiting)."""
        if self.cycle == 0:
            return []
        return self.labeled if self.pending is None else self.labeled[:-len(self.pending[0])]

    def to_bytes(self, fingerprint: str, labels_used: dict[str, int]) -> bytes:
        return torch_bytes({
            "fingerprint": fingerprint, "cycle": self.cycle,
            "labeled": torch.tensor(self.labeled), "generator": self.gen.get_state(),
            "model": self.model_state, "epoch_rows": json.dumps(self.epoch_rows),
            "cycle_rows": json.dumps(self.cycle_rows), "timing": json.dumps(self.timing),
            "pending": json.dumps(self.pending), "labels_used": json.dumps(labels_used),
            "predictions": self.predictions})

    def restore(self, saved: dict) -> None:
        """Take over a checkpoint's state (see read_checkpoint)."""
        self.pending = json.loads(saved.get("pending", "null"))
        self.cycle = int(saved["cycle"])
        self.labeled = saved["labeled"].tolist()
        self.gen.set_state(saved["generator"])
        self.model_state = saved["model"]
        self.epoch_rows = json.loads(saved["epoch_rows"])
        self.cycle_rows = json.loads(saved["cycle_rows"])
        self.timing = json.loads(saved["timing"])
        self.predictions = saved.get("predictions", "")


def read_checkpoint(folder: Path) -> dict | None:
    path = Path(folder) / CHECKPOINT
    return torch.load(path, map_location="cpu", weights_only=True) if path.exists() else None


def labels_used(saved: dict) -> dict[str, int]:
    """The labels a checkpoint's cycles trained with, by pool key."""
    return json.loads(saved.get("labels_used", "{}"))

"""One resumable training loop, for every network the project trains for epochs: DRAEM
(asal/models/scorers/draem/) and the pretext networks (asal/models/pretext.py).

A training is its model, optimizer, scheduler and the CPU generator that draws its batches
and synthetic samples; `train_resumably` runs its epochs, steps the scheduler after each,
and saves all of it, with the epochs' history, to one checkpoint file (asal/io.py: whole or
not at all) every `checkpoint_every` epochs and after the last. A later call with the same
fingerprint continues from that checkpoint and ends with the weights an uninterrupted run
ends with; a checkpoint of other settings (another fingerprint) is ignored and the
training starts again.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch

from asal.io import write_torch


def save_training(path, fingerprint: str, model, optimizer, scheduler, gen, **extra) -> None:
    """A resumable training state, written whole or not at all (asal/io.py)."""
    state = {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
             "scheduler": scheduler.state_dict(), "generator": gen.get_state(),
             "fingerprint": fingerprint, **extra}
    write_torch(path, state)


def resume_training(path, fingerprint: str, device, model, optimizer, scheduler,
                    gen) -> dict | None:
    """Load a state saved by save_training into the objects; None (and nothing loaded) when
    there is none or it was made with other settings (another fingerprint)."""
    if not Path(path).exists():
        return None
    state = torch.load(path, map_location=device, weights_only=True)
    if state["fingerprint"] != fingerprint:
        return None
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    gen.set_state(state["generator"])
    return state


@dataclass
class Training:
    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: object
    gen: torch.Generator


@dataclass
class TrainingRecord:
    history: list[dict] = field(default_factory=list)     # one row per epoch
    seconds: float = 0.0                                   # this and earlier processes'
    resumed_from: int = 0                                  # epochs a checkpoint held


def train_resumably(t: Training, epochs: int, one_epoch: Callable[[], dict],
                    checkpoint: Path | None, fingerprint: str, *, checkpoint_every: int = 1,
                    on_epoch: Callable[[int, dict], None] | None = None,
                    stop_after: int | None = None) -> TrainingRecord:
    """Run `one_epoch` (one pass, returning its row of means) until `epochs` are done,
    resuming from `checkpoint`. `stop_after` ends after that many epochs, as a kill
    would (tests). Without a checkpoint file nothing is saved or resumed."""
    record = TrainingRecord()
    device = next(t.model.parameters()).device
    state = None if checkpoint is None else resume_training(
        checkpoint, fingerprint, device, t.model, t.optimizer, t.scheduler, t.gen)
    if state is not None:
        torch.set_rng_state(state["torch_rng"])
        saved = json.loads(state["record"])
        record = TrainingRecord(saved["history"], saved["seconds"], len(saved["history"]))
    t.model.train()
    for epoch in range(len(record.history), epochs):
        start = time.perf_counter()
        row = one_epoch()
        t.scheduler.step()
        record.seconds += time.perf_counter() - start
        record.history.append({"epoch": epoch + 1, **row})
        if on_epoch is not None:
            on_epoch(epoch + 1, record.history[-1])
        if checkpoint is not None and ((epoch + 1) % checkpoint_every == 0
                                       or epoch + 1 == epochs):
            save_training(checkpoint, fingerprint, t.model, t.optimizer, t.scheduler, t.gen,
                          torch_rng=torch.get_rng_state(),
                          record=json.dumps({"history": record.history,
                                             "seconds": record.seconds}))
        if stop_after is not None and epoch + 1 >= stop_after:
            break
    t.model.eval()
    return record

"""DRAEM as a scorer: trained on the pool with synthetic anomalies (resumable, the official
schedule), it scores an image by the maximum of its mean-filtered anomaly map."""

from __future__ import annotations

import hashlib
import json
import time

import numpy as np
import torch
import torch.nn.functional as F

from asal.errors import AsalError
from asal.models.networks import channels_last
from asal.models.scorer_names import identity_parameters
from asal.models.scorers.base import Fitting, Scorer
from asal.models.scorers.draem.loss import draem_loss, gaussian_window
from asal.models.scorers.draem.network import Draem, check_image_size
from asal.models.scorers.draem.synthesis import synthesize
from asal.models.training import Training, train_resumably
from asal.order import content_order
from asal.runtime import adam, autocast, model_to

CHECKPOINT = "draem_checkpoint.pt"


def image_scores(maps: torch.Tensor, filter_size: int) -> torch.Tensor:
    """Max of the mean-filtered anomaly map (zeros counted at the border)."""
    smooth = F.avg_pool2d(maps[:, None], filter_size, stride=1, padding=filter_size // 2,
                          count_include_pad=True)
    return smooth.flatten(1).amax(1)


@torch.no_grad()
def score(model: Draem, images: torch.Tensor, device: torch.device, filter_size: int,
          batch_size: int = 32, keep_maps: bool = False):
    """Image scores (N,) and, if asked, anomaly maps (N, H, W) of uint8 images."""
    model.eval()
    scores, maps = [], []
    for start in range(0, len(images), batch_size):
        x = channels_last(images[start:start + batch_size].to(device).float() / 255)
        with autocast(device):
            _, logits = model(x)
        amap = torch.softmax(logits.float(), dim=1)[:, 1]
        scores.append(image_scores(amap, filter_size).cpu())
        if keep_maps:
            maps.append(amap.cpu())
    scores = torch.cat(scores) if scores else torch.zeros(0)
    return (scores, torch.cat(maps)) if keep_maps else scores


def _scheduler(optimizer, epochs: int):
    milestones = [int(0.8 * epochs), int(0.9 * epochs)]
    return torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones, gamma=0.2)


class DraemScorer(Scorer):
    """DRAEM (Zavrtanik et al., ICCV 2021), the paper's detector; `anomaly_source` is the
    texture bank its synthetic anomalies are cut from (asal/data/textures.py)."""

    name = "draem"
    needs = ("anomaly_source",)
    trains = True
    has_maps = True

    def _network(self) -> Draem:
        torch.manual_seed(self.seed)
        s = self.settings
        return model_to(Draem(s["draem_recon_width"], s["draem_disc_width"]), self.device)

    def fingerprint(self, images: torch.Tensor) -> str:
        """The settings and the training images: equal only for the same training."""
        s = {k: v for k, v in self.settings.items() if k in identity_parameters(self.name)}
        text = json.dumps([s, self.seed, len(images),
                           hashlib.sha1(images.numpy().tobytes()).hexdigest()[:16]],
                          sort_keys=True, default=str)
        return hashlib.sha1(text.encode()).hexdigest()[:16]

    def fit(self, pool: torch.Tensor, fitting: Fitting | None = None) -> "DraemScorer":
        fitting = fitting or Fitting()
        s, self.device = self.settings, fitting.device
        check_image_size(pool.shape[-1])
        if len(pool) < s["draem_batch_size"]:
            raise AsalError(f"DRAEM needs at least draem_batch_size={s['draem_batch_size']} "
                            f"training images, the pool has {len(pool)}; lower "
                            "draem_batch_size.")
        self.pool = pool
        pool = pool[torch.from_numpy(content_order(pool))]   # the listing order plays no part
        self.model = self._network()
        optimizer = adam(self.model.parameters(), lr=s["draem_lr"])
        t = Training(self.model, optimizer, _scheduler(optimizer, s["draem_epochs"]),
                     torch.Generator().manual_seed(self.seed))
        bank, window = s["anomaly_source"].to(self.device), gaussian_window().to(self.device)
        self.synthesis_seconds = 0.0

        def one_epoch() -> dict:
            return self._epoch(t, pool, bank, window)

        workdir = fitting.workdir
        self.record = train_resumably(t, s["draem_epochs"], one_epoch,
                                      workdir / CHECKPOINT if workdir else None,
                                      self.fingerprint(pool),
                                      checkpoint_every=s["draem_checkpoint_every"],
                                      on_epoch=fitting.on_epoch,
                                      stop_after=fitting.stop_after)
        self.fitted = len(self.record.history) >= s["draem_epochs"]
        return self

    def _epoch(self, t: Training, images, bank, window) -> dict:
        """One pass over the images in random batches; the mean of each loss term."""
        n, size = len(images), self.settings["draem_batch_size"]
        sums = {"l2": 0.0, "ssim": 0.0, "focal": 0.0, "total": 0.0}
        order = torch.randperm(n, generator=t.gen)
        steps = -(-n // size)
        for step in range(steps):
            idx = order[step * size:(step + 1) * size]
            x = images[idx].to(self.device, non_blocking=True).float() / 255
            start = time.perf_counter()
            sample = synthesize(x, bank, t.gen)
            self.synthesis_seconds += time.perf_counter() - start
            with autocast(self.device):
                recon, logits = t.model(channels_last(sample.image))
            parts = draem_loss(recon, sample.target, logits, sample.mask, window)
            t.optimizer.zero_grad(set_to_none=True)
            parts["total"].backward()
            t.optimizer.step()
            for k in sums:
                sums[k] += parts[k].item() / steps
        return sums

    def pool_scores(self) -> np.ndarray:
        return self.anomaly_scores(self.pool)

    def anomaly_scores(self, images: torch.Tensor) -> np.ndarray:
        self._check_fitted()
        return score(self.model, images, self.device,
                     self.settings["draem_score_filter"]).numpy().astype(np.float64)

    def anomaly_maps(self, images: torch.Tensor) -> np.ndarray:
        self._check_fitted()
        return score(self.model, images, self.device, self.settings["draem_score_filter"],
                     keep_maps=True)[1].numpy()

    def state(self) -> dict:
        return {"network": {k: v.cpu() for k, v in self.model.state_dict().items()}}

    @classmethod
    def from_state(cls, state: dict, *, seed: int, device=None, **settings) -> "DraemScorer":
        scorer = cls(seed=seed, device=device, **settings)
        scorer.model = scorer._network()
        scorer.model.load_state_dict(state["network"])
        scorer.model.eval()
        scorer.fitted = True
        return scorer

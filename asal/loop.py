"""Stage 03: the active-learning cycles, with metrics, provenance and resume.

Two protocols. `clean` (default): a cycle's result is its last epoch, the next query uses
the last-epoch model, only unlabeled images are queried (asserted) and confidence is a
plain softmax. `paper` reproduces the published main.py, faults included
(reference/original-asal.md, 1-3): the best of the epochs on the test split is reported,
the best-accuracy checkpoint makes the next query and the next cycle starts from it, the
whole pool is queried (an image can be labeled twice), logits are L2-normalised before
the softmax and the AUROC ranks by the raw class-1 logit. Both record every epoch.

Labels come from an oracle (asal/oracle.py). With `oracle: file` a cycle whose images have
no label yet is not trained: the loop saves its state (the query included), writes
to_label.csv and stops; run again once they are labeled, it continues from there, and the
finished run's files are those the folders would have given with the same labels.
"""

from __future__ import annotations

import copy
import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import torch
import torch.nn.functional as F
from tqdm import tqdm

from asal.batches import check_against_pool, ranking, read_batches, source_dir
from asal.config import Config
from asal.data import Split, load_split, load_test
from asal.errors import AsalError
from asal.io import csv_text, exclusive, json_text, torch_bytes, write_csv, write_set
from asal.learner import (Normalizer, Timer, build_resnet18, evaluate, predict_logits,
                          train_epoch)
from asal.order import blind_order
from asal.oracle import TO_LABEL_CSV, known_labels, labels_path, write_to_label
from asal.pretext import (ROTATION_SCORES, SELF_SUPERVISED, backbone_path, pool_features,
                          pretext_dir, run_pretext)
from asal.runtime import adam, configure, model_to, provenance
from asal.strategies import PoolViews, check_names, initial_selection, query
from asal.synthetic import ensure_synthetic

CHECKPOINT = "checkpoint.pt"
NEXT_TO_LABEL = "next_to_label.csv"     # oracle file: what to label after the last cycle
METRICS = ("accuracy", "balanced_accuracy", "auroc", "ap")
# Parameters that change the numbers of a run; a checkpoint made with others is not resumed.
RUN_KEYS = ("category", "image_size", "grayscale", "init", "per_batch", "n_batches", "query",
            "query_size", "cycles", "epochs", "batch_size", "lr", "freeze_body",
            "weight_decay", "pretrained", "pretext_task", "synthesis_epochs", "rotation_epochs",
            "pretext_batch_size", "pretext_lr", "pretext_seed", "protocol",
            "reinit_each_cycle", "eval_every_epoch", "normalize_mean", "normalize_std", "seed")


def al_dir(cfg: Config) -> Path:
    return cfg.run_dir / "al" / cfg.init / f"seed{cfg.seed}"


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


def load_loop_data(cfg: Config) -> tuple[Split, Split | None, list[list[str]]]:
    ensure_synthetic(cfg.data_root, cfg.category)
    folder = source_dir(cfg)
    if not (folder / "batch0.txt").exists():
        raise AsalError(f"No batches for {cfg.category} in {folder}; run "
                        f"notebooks/01_scores.ipynb then notebooks/02_split_batches.ipynb with "
                        f"-p category {cfg.category}, or pass batches_dir.")
    batches = read_batches(folder)
    pool = load_split(cfg.data_root, cfg.category, "train", cfg.image_size, cfg.use_grayscale)
    test = load_test(cfg.data_root, cfg.category, cfg.image_size, cfg.use_grayscale)
    check_against_pool(batches, pool.keys(), folder)
    if sum(map(len, batches)) != len(pool):
        raise AsalError(f"The batches in {folder} hold {sum(map(len, batches))} images, the "
                        f"pool {len(pool)}; rebuild them with 02_split_batches.")
    if test is None and cfg.protocol == "paper":
        raise AsalError(f"protocol 'paper' picks each cycle's epoch on the test split, and "
                        f"{cfg.category} has none; use protocol 'clean'.")
    # the folders' labels are checked only when they are the labels the loop uses
    labeled = [("pool", pool)] if cfg.oracle == "folders" and pool.labeled else []
    for name, split in labeled + ([("test split", test)] if test is not None else []):
        if split.labels.min() == split.labels.max():
            missing = "anomalies" if split.labels.max() == 0 else "normal images"
            raise AsalError(f"The {name} of {cfg.category} holds no {missing}; a good/defect "
                            "classifier needs both classes.")
    return pool, test, batches


def check_budget(cfg: Config, pool_size: int, n_init: int):
    budget = n_init + (cfg.cycles - 1) * cfg.query_size
    if budget > pool_size:
        raise AsalError(f"The labeling budget ({n_init} initial + {cfg.cycles - 1} cycles x "
                        f"{cfg.query_size}) = {budget} exceeds the pool of {pool_size}; lower "
                        "cycles or query_size.")


def _fingerprint(cfg: Config, batches, pool: Split, initial: list[str]) -> str:
    # pool keys, not paths: a run resumes wherever the data root has moved to; the initial
    # set too, since a baseline's pick also depends on a pretext network
    # not `cycles`: a run with more cycles continues the shorter one it finds
    text = json.dumps([{k: cfg[k] for k in RUN_KEYS if k != "cycles"}, batches, pool.keys(),
                       initial],
                      sort_keys=True)
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def initial_weights(cfg: Config) -> str:
    """What build_resnet18 starts from; `self_supervised` is the category's stage-00 network."""
    if cfg.freeze_body and cfg.pretrained == "none":
        raise AsalError("freeze_body keeps a pretrained body fixed, and pretrained is 'none' "
                        "(a random body); set pretrained to self_supervised, imagenet or a "
                        "weights file, or freeze_body to false.")
    return str(backbone_path(cfg)) if cfg.pretrained == SELF_SUPERVISED else cfg.pretrained


def _fresh_model(cfg: Config, weights: str, cycle: int, device):
    torch.manual_seed(cfg.seed * 1000 + cycle)
    return model_to(build_resnet18(weights), device)


def trained_parameters(model, freeze_body: bool) -> list:
    """What the optimizer trains: everything, or only the 2-way head on a frozen body."""
    if not freeze_body:
        return list(model.parameters())
    for name, p in model.named_parameters():
        p.requires_grad_(name.startswith("fc."))
    return list(model.fc.parameters())


def query_probabilities(logits: torch.Tensor, protocol: str) -> torch.Tensor:
    """Class probabilities for the query; the paper L2-normalises the logits first."""
    if protocol == "paper":
        logits = F.normalize(logits, dim=1)
    return torch.softmax(logits, dim=1)


class Loop:
    """One run: init, seed and protocol fixed; its state can be saved after every cycle."""

    def __init__(self, cfg: Config, progress: bool = True):
        check_names(cfg.init, cfg.query)
        self.cfg, self.progress = cfg, progress
        self.device = configure(cfg)
        self.out = al_dir(cfg)
        self.pool, self.test, self.batches = load_loop_data(cfg)
        self.known = known_labels(cfg, self.pool)       # label by pool key, as far as known
        self.weights = initial_weights(cfg)
        self.keys = self.pool.keys()
        self.index = {k: i for i, k in enumerate(self.keys)}
        initial = initial_selection(cfg.init, self.batches, cfg.per_batch, cfg.seed,
                                    self.pool_views())
        check_budget(cfg, len(self.pool), len(initial))
        self.fingerprint = _fingerprint(cfg, self.batches, self.pool, initial)
        # state saved after every cycle
        self.labeled = [self.index[k] for k in initial]
        self.epoch_rows, self.cycle_rows = [], []
        self.cycle = 0
        self.gen = torch.Generator().manual_seed(cfg.seed)
        self.model_state = None          # the model the next cycle continues from
        self.pending = None              # the next cycle's query, when it waits for labels
        self.waiting: list[str] = []     # pool keys it waits for
        self.timing = {"seconds": 0.0, "model_seconds": 0.0}

    def pool_views(self) -> PoolViews:
        """The rotation ranking and pretrained features the cold-start baselines pick on."""
        def features():
            if self.weights == "none":
                raise AsalError(f"init '{self.cfg.init}' selects on a pretrained network's "
                                "features, and pretrained is 'none'; set pretrained to "
                                "self_supervised, imagenet or a weights file.")
            torch.manual_seed(self.cfg.seed)
            model = model_to(build_resnet18(self.weights), self.device)
            norm = Normalizer(self.cfg.normalize_mean, self.cfg.normalize_std, self.device)
            return pool_features(model, self.pool.images, norm)

        def rotation_scores():
            run_pretext(self.cfg, task="rotation")
            return pd.read_csv(pretext_dir(self.cfg, "rotation") / ROTATION_SCORES)

        return PoolViews(self.pool.keys(), features, rotation_scores)

    # ------------------------------------------------------------------ save / resume
    def checkpoint(self) -> bytes:
        state = {"fingerprint": self.fingerprint, "cycle": self.cycle,
                 "labeled": torch.tensor(self.labeled), "generator": self.gen.get_state(),
                 "model": self.model_state, "epoch_rows": json.dumps(self.epoch_rows),
                 "cycle_rows": json.dumps(self.cycle_rows), "timing": json.dumps(self.timing),
                 "pending": json.dumps(self.pending),
                 "labels_used": json.dumps(self.labels_used())}
        return torch_bytes(state)

    def save(self):
        """The state alone (a query that waits for labels), with the run's config.json."""
        write_set(self.out, {CHECKPOINT: self.checkpoint(), "config.json": self.config_text})

    def check_folder(self):
        """Refuse a folder that holds a run made with other parameters (RUN_KEYS): it is
        never written over; a run with more cycles continues the one it finds."""
        path = self.out / "config.json"
        if not path.exists():
            return
        made = json.loads(path.read_text())
        differ = [k for k in RUN_KEYS if k != "cycles" and made.get(k) != self.cfg[k]]
        if made.get("batches_dir") != self.cfg.batches_dir:
            differ.append("batches_dir")
        if differ:
            key = differ[0]
            raise AsalError(f"{self.out} holds a run made with {key}={made.get(key)!r}, and "
                            f"this one asks for {key}={self.cfg.get(key)!r}; pass -p exp "
                            "<name> to run it in an experiment folder of its own, or delete "
                            f"{self.out} to replace that run.")
        cycles = self.out / "metrics_cycle.csv"
        done = len(pd.read_csv(cycles)) if cycles.exists() else 0
        if done > self.cfg.cycles:
            raise AsalError(f"{self.out} holds a run of {done} cycles, and this one asks for "
                            f"cycles={self.cfg.cycles}; its first {self.cfg.cycles} rows are "
                            f"that run's, so read them there, or pass cycles >= {done}.")

    def resume(self):
        """Continue from the last finished cycle of an earlier run with the same parameters."""
        self.check_folder()
        path = self.out / CHECKPOINT
        if not path.exists():
            if (self.out / "metrics_cycle.csv").exists():
                print(f"{self.out} holds no checkpoint (they are not committed): its cycles "
                      "are run again from cycle 0, to the same numbers on the same CPU.")
            return
        state = torch.load(path, map_location="cpu", weights_only=True)
        if state["fingerprint"] != self.fingerprint:
            print(f"The images or batches of {self.cfg.category} changed since the run in "
                  f"{self.out} was made; it starts again from cycle 0, and its files are "
                  "replaced once the new run has some of its own.")
            return
        used = json.loads(state.get("labels_used", "{}"))
        changed = [k for k, v in used.items() if self.known.get(k) != v]
        if changed:
            key, names = changed[0], {0: "good", 1: "anomaly", None: "no label"}
            print(f"The labels now given differ from those this run trained with in "
                  f"{len(changed)} image(s) (first: {key}, {names[used[key]]} then, "
                  f"{names[self.known.get(key)]} now); it starts again from cycle 0.")
            return
        self.pending = json.loads(state.get("pending", "null"))
        self.cycle = int(state["cycle"])
        self.labeled = state["labeled"].tolist()
        self.gen.set_state(state["generator"])
        self.model_state = state["model"]
        self.epoch_rows = json.loads(state["epoch_rows"])
        self.cycle_rows = json.loads(state["cycle_rows"])
        self.timing = json.loads(state["timing"])

    def trained_on(self) -> list[int]:
        """The labeled images the cycles so far trained with (not a query still waiting)."""
        if self.cycle == 0:
            return []
        return self.labeled if self.pending is None else self.labeled[:-len(self.pending[0])]

    def labels_used(self) -> dict[str, int]:
        return {self.keys[i]: self.known[self.keys[i]] for i in self.trained_on()}

    def unlabeled_of(self, indices: list[int]) -> list[str]:
        """Pool keys among `indices` whose label the oracle does not give yet."""
        return [self.keys[i] for i in indices if self.keys[i] not in self.known]

    # ------------------------------------------------------------------------ a cycle
    def evaluates(self, epoch: int) -> bool:
        """Whether an epoch is evaluated on the test split.

        The clean protocol reports a cycle's last epoch only, and evaluating the others took
        a quarter of an active-learning run on the synthetic profile, so they are skipped
        unless eval_every_epoch asks for per-epoch curves. The paper protocol picks its
        epoch on the test split and needs every one. Evaluation changes no state (eval
        mode, no random numbers), so the reported numbers are the same either way.
        """
        cfg = self.cfg
        return cfg.protocol == "paper" or cfg.eval_every_epoch or epoch == cfg.epochs

    def _query(self, model, norm, timer) -> tuple[list[int], list[float]]:
        cfg = self.cfg
        if cfg.protocol == "paper":
            candidates = list(range(len(self.pool)))          # fault 2: the whole pool
        else:
            taken = set(self.labeled)
            candidates = [i for i in range(len(self.pool)) if i not in taken]
        logits = predict_logits(model, self.pool_images[candidates], norm, timer)
        prob = query_probabilities(logits, cfg.protocol)
        picks = query(cfg.query, prob, cfg.query_size, self.gen,
                      [self.keys[i] for i in candidates], salt=cfg.seed)
        new = [candidates[p] for p in picks]
        if cfg.protocol == "clean":
            assert not set(new) & set(self.labeled), "queried an image that is labeled"
        return new, [float(prob[p].max()) for p in picks]

    def run_cycle(self):
        cfg, device = self.cfg, self.device
        norm = Normalizer(cfg.normalize_mean, cfg.normalize_std, device)
        timer = Timer(device)
        start = time.perf_counter()
        model = _fresh_model(cfg, self.weights, self.cycle, device)
        if self.model_state is not None:
            model.load_state_dict(self.model_state)
        queried, confidence = [], []
        if self.cycle > 0:
            if self.pending is None:
                self.pending = self._query(model, norm, timer)
                self.labeled += self.pending[0]
            queried, confidence = self.pending
            self.waiting = self.unlabeled_of(queried)
            if self.waiting:
                return False
            self.pending = None
            if cfg.reinit_each_cycle:
                model = _fresh_model(cfg, self.weights, self.cycle, device)
        optimizer = adam(trained_parameters(model, cfg.freeze_body), lr=cfg.lr,
                         weight_decay=cfg.weight_decay)
        idx = torch.tensor(self.labeled, device=device)
        images = self.pool_images[idx]
        labels = torch.tensor([self.known[self.keys[i]] for i in self.labeled], device=device)
        n_labels, n_anom = len(self.labeled), int(labels.sum())
        auroc_on = "logit" if cfg.protocol == "paper" else "probability"
        best_acc, best_state, rows = -1.0, None, []
        for epoch in range(1, cfg.epochs + 1):
            loss = train_epoch(model, optimizer, images, labels, norm, cfg.batch_size,
                               self.gen, timer, frozen_body=cfg.freeze_body)
            if self.test is not None and self.evaluates(epoch):
                logits = predict_logits(model, self.test_images, norm, timer)
                metrics = evaluate(logits, self.test.labels.numpy(), auroc_on)
            else:
                metrics = dict.fromkeys(METRICS, float("nan"))
            rows.append({"cycle": self.cycle, "epoch": epoch, "n_labels": n_labels,
                         "n_anomalies": n_anom, "train_loss": loss, **metrics})
            if cfg.protocol == "paper" and metrics["accuracy"] > best_acc:
                best_acc = metrics["accuracy"]     # fault 1: picked on the test split
                best_state = copy.deepcopy(model.state_dict())
        if cfg.protocol == "paper":
            frame = pd.DataFrame(rows)
            result = {m: float(frame[m].max()) for m in METRICS}
            self.model_state = best_state
        else:
            result = {m: rows[-1][m] for m in METRICS}
            self.model_state = model.state_dict()
        self.model_state = {k: v.detach().cpu().clone() for k, v in self.model_state.items()}
        self.epoch_rows += rows
        self.cycle_rows.append({
            "cycle": self.cycle, "n_labels": n_labels,
            "n_unique": len(set(self.labeled)), "n_anomalies": n_anom, **result,
            "queried": ";".join(self.keys[i] for i in queried),
            "confidence": ";".join(f"{c:.6f}" for c in confidence)})
        self.cycle += 1
        self.timing["seconds"] += time.perf_counter() - start
        self.timing["model_seconds"] += timer.seconds
        return True

    # ------------------------------------------------------------------------ outputs
    def write_outputs(self):
        """The CSVs, labeled.txt, timing, checkpoint and config.json as one set, and
        model.pt once the last cycle is done (the checkpoint holds the model until then)."""
        files = {"metrics_epoch.csv": csv_text(pd.DataFrame(self.epoch_rows)),
                 "metrics_cycle.csv": csv_text(pd.DataFrame(self.cycle_rows)),
                 "labeled.txt": "".join(f"{self.keys[i]}\n" for i in self.labeled),
                 "timing.json": json_text({**self.timing, "cycles_done": self.cycle}),
                 "config.json": self.config_text, CHECKPOINT: self.checkpoint()}
        if self.cycle == self.cfg.cycles:
            files["model.pt"] = torch_bytes(self.model_state)
        write_set(self.out, files, remove=[] if self.cycle == self.cfg.cycles else ["model.pt"])

    def run(self, stop_after_cycle: int | None = None) -> LoopResult:
        cfg = self.cfg
        self.resume()
        outputs = ("config.json", "metrics_epoch.csv", "metrics_cycle.csv", "labeled.txt")
        complete = all((self.out / name).exists() for name in outputs)
        # a finished run with all its files keeps the provenance it was made with
        self.config_text = (json_text({**dict(cfg), **provenance(self.device),
                                       "fingerprint": self.fingerprint})
                            if self.cycle < cfg.cycles or not complete
                            else (self.out / "config.json").read_text())
        if self.cycle >= cfg.cycles and not complete:
            self.write_outputs()       # finished before, but files were removed since
        if self.cycle < cfg.cycles:
            (self.out / NEXT_TO_LABEL).unlink(missing_ok=True)     # of an earlier, shorter run
            self.pool_images = self.pool.images.to(self.device)
            if self.test is not None:
                self.test_images = self.test.images.to(self.device)
            bar = tqdm(total=cfg.cycles, initial=self.cycle, disable=not self.progress,
                       desc=f"{cfg.category} {cfg.init} seed {cfg.seed}", unit="cycle")
            while self.cycle < cfg.cycles:
                if self.cycle == 0:
                    self.waiting = self.unlabeled_of(self.labeled)
                    if self.waiting:
                        self.save()        # config.json tells what the folder holds
                        break
                if not self.run_cycle():
                    self.save()            # the query is kept: it is not made again
                    break
                self.write_outputs()
                bar.update(1)
                if stop_after_cycle is not None and self.cycle >= stop_after_cycle:
                    break
            bar.close()
        self.ask_for_labels()
        if cfg.oracle == "file" and self.cycle >= cfg.cycles \
                and not (self.out / NEXT_TO_LABEL).exists():
            self.write_next_to_label()
        trained = self.trained_on()
        return LoopResult(self.out, pd.DataFrame(self.epoch_rows),
                          pd.DataFrame(self.cycle_rows), [self.keys[i] for i in trained],
                          self.pool, self.timing, self.labels_used(), self.waiting, cfg.cycles)

    def write_next_to_label(self):
        """The unlabeled rest of the pool, least confident first: what to label next.

        The finished classifier's class probabilities (p_defect, confidence) for every
        image it has no label for, beside the anomaly score and rank. More labels: raise
        `cycles` and run 03 again; it continues from its checkpoint and asks only for the
        new ones.
        """
        cfg, device = self.cfg, self.device
        model = _fresh_model(cfg, self.weights, self.cycle, device)
        model.load_state_dict(self.model_state)
        taken = set(self.labeled)
        rest = [i for i in range(len(self.pool)) if i not in taken]
        norm = Normalizer(cfg.normalize_mean, cfg.normalize_std, device)
        logits = predict_logits(model, self.pool.images[rest].to(device), norm, Timer(device))
        prob = query_probabilities(logits, cfg.protocol)
        frame = pd.DataFrame({"path": [self.keys[i] for i in rest],
                              "p_defect": prob[:, 1].numpy(),
                              "confidence": prob.max(dim=1).values.numpy()})
        frame = frame.iloc[blind_order(frame.confidence, frame.path.tolist(), cfg.seed,
                                       descending=False)]
        write_csv(self.out / NEXT_TO_LABEL,
                  frame.merge(ranking(source_dir(cfg)), on="path", how="left"))
        print(f"Finished: the classifier is in {self.out / 'model.pt'}; the {len(rest)} images "
              f"it has no label for, least confident first (what to label next), are in "
              f"{self.out / NEXT_TO_LABEL}.")

    def ask_for_labels(self):
        """Write to_label.csv and say what to do, or remove a stale one once it is answered."""
        if not self.waiting:
            (self.out / TO_LABEL_CSV).unlink(missing_ok=True)
            return
        write_to_label(self.out, self.waiting, ranking(source_dir(self.cfg)))
        cfg, n = self.cfg, len(self.waiting)
        what = "the initial set" if self.cycle == 0 else f"cycle {self.cycle}"
        print(f"{n} image{'s' * (n > 1)} need{'s' * (n == 1)} a label before {what} of "
              f"{cfg.category} ({cfg.init}, seed {cfg.seed}): they are listed in "
              f"{self.out / TO_LABEL_CSV}; label them in notebooks/05_label.ipynb (or add "
              f"rows path,label with good or anomaly to {labels_path(cfg)}), then run this "
              "again.")


def run_active_learning(cfg: Config, progress: bool = True,
                        stop_after_cycle: int | None = None) -> LoopResult:
    """Stage 03 for one (category, init, seed): run, or resume, the cycles.

    The run folder is locked meanwhile: a second process on the same run waits, then
    resumes from what the first one left.
    """
    with exclusive(al_dir(cfg), f"running {cfg.category} {cfg.init} seed {cfg.seed}"):
        return Loop(cfg, progress).run(stop_after_cycle)

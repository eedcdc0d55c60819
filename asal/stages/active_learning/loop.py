"""Stage 03: the initial set and the active-learning cycles, with metrics and resume.

One run is one (category, init, query, seed) in runs/<exp>/<cat>/al/<init>/<query>/
seed<seed>/. Cycle 0 trains on the initial set; every later cycle queries `query_size`
more images and trains again (asal/stages/active_learning/protocols.py: clean or paper). After each cycle the
CSVs, labeled.txt, the checkpoint and config.json are written as one set, so a rerun after
a kill continues and ends with the same files; a folder holding a run made with other
parameters is refused, and more cycles continue a finished run. Labels come from the
folders or from a person (asking.py).
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

import pandas as pd
import torch

from asal.config.layout import (CONFIG_JSON, METRICS_CYCLE, MODEL, PROVENANCE_JSON, al_dir,
                               source_batches)
from asal.data.batchfiles import ranking
from asal.errors import AsalError
from asal.io import csv_text, exclusive, json_text, torch_bytes, write_set
from asal.models.classifier import evaluate
from asal.models.learner_names import FROZEN
from asal.models.networks import Timer
from asal.models.strategies import initial_selection, query
from asal.progress import Progress
from asal.provenance import provenance, run_record
from asal.runtime import configure
from asal.stages.active_learning import pretext_inputs as pretext
from asal.stages.active_learning.asking import (NEXT_TO_LABEL, ask_for_labels, known_labels,
                                                say_finished, write_next_to_label)
from asal.stages.active_learning.inputs import load_loop_data
from asal.stages.active_learning.learners import LEARNERS
from asal.stages.active_learning.protocols import (METRICS, auroc_on, query_candidates,
                                                   query_size_at, reported_metrics)
from asal.stages.active_learning.state import (CHECKPOINT, LoopResult, LoopState, check_budget,
                                               fingerprint, labels_used, read_checkpoint)
from asal.stages.active_learning.stopping import rule_after_cycle, stop_words
from asal.stages.artefact import make_artefact
from asal.stages.claims import refuse_other_parameters
from asal.style import CLASS_WORDS

if TYPE_CHECKING:
    from asal.config.schema import Params

OUTPUTS = (CONFIG_JSON, "metrics_epoch.csv", METRICS_CYCLE, "labeled.txt")
LABEL_NAMES = {**CLASS_WORDS, None: "no label"}


class Loop:
    """One run: init, seed and protocol fixed; its state can be saved after every cycle."""

    def __init__(self, cfg: Params, progress: bool = True):
        self.cfg, self.progress = cfg, progress
        self.device = configure(cfg)
        self.out = al_dir(cfg)
        self.pool, self.test, self.batches = load_loop_data(cfg)
        self.known = known_labels(cfg, self.pool)       # label by pool key, as far as known
        self.weights = pretext.initial_weights(cfg, self.pool)
        self.keys = self.pool.keys()
        self._learner = None
        frozen = (lambda: self.learner.pool_x) if cfg.head in FROZEN else None
        views = pretext.pool_views(cfg, self.pool, self.weights, self.device, frozen)
        initial = initial_selection(cfg.init, self.batches, cfg.per_batch, cfg.seed, views)
        check_budget(cfg, len(self.pool), len(initial))
        self.fingerprint = fingerprint(cfg, self.batches, self.pool, initial)
        index = {k: i for i, k in enumerate(self.keys)}
        self.state = LoopState([index[k] for k in initial],
                               torch.Generator().manual_seed(cfg.seed))
        self.waiting: list[str] = []     # pool keys the next cycle waits for

    @property
    def learner(self):
        """The classifier's learner, made when first needed (a finished run needs none)."""
        if self._learner is None:
            self._learner = LEARNERS[self.cfg.head](self.cfg, self.weights, self.pool,
                                                    self.test, self.device)
        return self._learner

    # ------------------------------------------------------------------ save / resume
    def labels_used(self) -> dict[str, int]:
        return {self.keys[i]: self.known[self.keys[i]] for i in self.state.trained_on()}

    def files(self) -> dict[str, bytes | str]:
        """The run's set: config.json and the checkpoint; the outputs once a cycle is done."""
        s = self.state
        files = {CONFIG_JSON: self.config_text, PROVENANCE_JSON: self.provenance_text,
                 CHECKPOINT: s.to_bytes(self.fingerprint, self.labels_used())}
        if s.cycle:
            files.update({
                "metrics_epoch.csv": csv_text(pd.DataFrame(s.epoch_rows)),
                METRICS_CYCLE: csv_text(pd.DataFrame(s.cycle_rows)),
                "labeled.txt": "".join(f"{self.keys[i]}\n" for i in s.labeled),
                "timing.json": json_text({**s.timing, "cycles_done": s.cycle})})
        if s.cycle == self.cfg.cycles:       # the checkpoint holds the model until then
            files[MODEL] = torch_bytes(self.artefact())
        return files

    def artefact(self) -> dict:
        """The finished classifier, self-described (asal/stages/artefact.py); its threshold
        comes from the labels it was trained on."""
        s, trained_on = self.state, self.state.trained_on()
        labels = [self.known[self.keys[i]] for i in trained_on]
        made = json.loads(self.provenance_text)
        record = {**json.loads(self.config_text), "provenance": made}
        return make_artefact(self.cfg, self.learner.artefact_parts(s.model_state),
                             self.learner.threshold(s.model_state, s.cycle, trained_on,
                                                    labels),
                             labels, self.out, record, pool_paths=self.pool.paths)

    def save(self):
        """Everything so far as one set (asal/io.py: write_set)."""
        write_set(self.out, self.files(),
                  remove=[] if self.state.cycle == self.cfg.cycles else [MODEL])

    def check_folder(self):
        """Refuse a folder holding a run made with other parameters, or with more cycles."""
        refuse_other_parameters(self.out, self.cfg, "al")
        cycles = self.out / METRICS_CYCLE
        done = len(pd.read_csv(cycles)) if cycles.exists() else 0
        if done > self.cfg.cycles:
            raise AsalError(f"{self.out} holds a run of {done} cycles, and this one asks for "
                            f"cycles={self.cfg.cycles}; its first {self.cfg.cycles} rows are "
                            f"that run's, so read them there, or pass cycles >= {done}.")

    def resume(self):
        """Continue from the last finished cycle of an earlier run with the same parameters."""
        self.check_folder()
        saved = read_checkpoint(self.out)
        if saved is None:
            if (self.out / METRICS_CYCLE).exists():
                print(f"{self.out} holds no checkpoint (they are not committed): its cycles "
                      "are run again from cycle 0, to the same numbers on the same CPU.")
            return
        if saved["fingerprint"] != self.fingerprint:
            print(f"The images or batches of {self.cfg.category} changed since the run in "
                  f"{self.out} was made; it starts again from cycle 0, and its files are "
                  "replaced once the new run has some of its own.")
            return
        used = labels_used(saved)
        changed = [k for k, v in used.items() if self.known.get(k) != v]
        if changed:
            key = changed[0]
            print(f"The labels now given differ from those this run trained with in "
                  f"{len(changed)} image(s) (first: {key}, {LABEL_NAMES[used[key]]} then, "
                  f"{LABEL_NAMES[self.known.get(key)]} now); it starts again from cycle 0.")
            return
        self.state.restore(saved)
        if 0 < self.state.cycle < self.cfg.cycles:   # killed or stopped before its end
            print(f"{self.out} continues from its checkpoint: {self.state.cycle} of its "
                  f"{self.cfg.cycles} cycles were done.")

    def waiting_p_defect(self) -> dict[str, float]:
        """The classifier's p(defect) of the images the run waits for, where it has one (a
        query's; the initial set is asked for before any classifier exists)."""
        if self.state.pending is None:
            return {}
        positions, _, p_defect = self.state.pending
        return {self.keys[i]: p for i, p in zip(positions, p_defect)}

    def unlabeled_of(self, indices: list[int]) -> list[str]:
        """Pool keys among `indices` whose label the oracle does not give yet."""
        return [self.keys[i] for i in indices if self.keys[i] not in self.known]

    # ------------------------------------------------------------------------ a cycle
    def test_metrics(self, logits, threshold: float | None = None) -> dict:
        """The test metrics of test logits (NaN without a test split)."""
        if self.test is None:
            return dict.fromkeys(METRICS, float("nan"))
        return evaluate(logits, self.test.labels.numpy(), auroc_on(self.cfg.protocol),
                        threshold)

    def evaluate(self, model_state, cycle: int, threshold: float) -> dict:
        """The test metrics of a cycle's classifier, its classes at its own threshold."""
        if self.test is None:
            return dict.fromkeys(METRICS, float("nan"))
        return self.test_metrics(self.learner.logits(model_state, cycle, "test"), threshold)

    def _query(self, timer) -> list:
        """[positions, confidences, p_defects] of the next cycle's images, ties label-blind."""
        cfg, s = self.cfg, self.state
        candidates = query_candidates(len(self.pool), s.labeled, cfg.protocol)
        prob = self.learner.probabilities(s.model_state, s.cycle, candidates, timer)
        picks = query(cfg.query, prob, query_size_at(cfg, len(s.labeled)), s.gen,
                      [self.keys[i] for i in candidates], salt=cfg.seed, batch=cfg.query_batch,
                      features=lambda: self.learner.features(s.model_state, s.cycle,
                                                             candidates))
        new = [candidates[p] for p in picks]
        if cfg.protocol == "clean":
            assert not set(new) & set(s.labeled), "queried an image that is labeled"
        return [new, [float(prob[p].max()) for p in picks], [float(prob[p, 1]) for p in picks]]

    def run_cycle(self) -> bool:
        """One cycle; False when its query waits for labels (the state keeps the query)."""
        s = self.state
        timer, start = Timer(self.device), time.perf_counter()
        queried, confidence = [], []
        if s.cycle > 0:
            if s.pending is None:
                s.pending = self._query(timer)
                s.labeled += s.pending[0]
            queried, confidence = s.pending[:2]
            self.waiting = self.unlabeled_of(queried)
            if self.waiting:
                return False
            s.pending = None
        labels = [self.known[self.keys[i]] for i in s.labeled]
        trained = self.learner.train(s.model_state, s.cycle, s.labeled, labels, s.gen, timer,
                                     self.test_metrics)
        s.model_state, rows = trained.state, trained.rows
        threshold, _ = self.learner.threshold(s.model_state, s.cycle, s.labeled, labels)
        result = reported_metrics(self.cfg.protocol, rows,
                                  self.evaluate(s.model_state, s.cycle, threshold))
        if self.cfg.protocol == "clean":       # the last epoch is the state evaluated
            rows[-1] = {**rows[-1], **result}
        counts = {"n_labels": len(s.labeled), "n_anomalies": int(sum(labels))}
        stopping = rule_after_cycle(self.cfg, self.learner, s, counts, timer, len(self.pool))
        s.epoch_rows += [{"cycle": s.cycle, "epoch": r["epoch"], **counts,
                          "train_loss": r["train_loss"], **{m: r[m] for m in METRICS}}
                         for r in rows]
        s.cycle_rows.append({
            "cycle": s.cycle, "n_labels": counts["n_labels"], "n_unique": len(set(s.labeled)),
            "n_anomalies": counts["n_anomalies"], **result,
            "queried": ";".join(self.keys[i] for i in queried),
            "confidence": ";".join(f"{c:.6f}" for c in confidence), **stopping})
        s.cycle += 1
        s.timing["seconds"] += time.perf_counter() - start
        s.timing["model_seconds"] += timer.seconds
        return True

    # ------------------------------------------------------------------------ the run
    def _cycles(self, stop_after_cycle: int | None):
        cfg, s = self.cfg, self.state
        (self.out / NEXT_TO_LABEL).unlink(missing_ok=True)     # of an earlier, shorter run
        bar = Progress(f"active learning {cfg.category} ({cfg.init}, {cfg.query}, seed "
                       f"{cfg.seed})", cfg.cycles, "cycle", start=s.cycle, enabled=self.progress)
        while s.cycle < cfg.cycles:
            if s.cycle == 0:
                self.waiting = self.unlabeled_of(s.labeled)
                if self.waiting:
                    self.save()            # config.json tells what the folder holds
                    break
            if not self.run_cycle():
                self.save()                # the query is kept: it is not made again
                break
            self.save()
            last = s.cycle_rows[-1]
            shown = {"test_auroc": last["auroc"]} if pd.notna(last["auroc"]) else {}
            bar.update(s.cycle, labels=last["n_labels"], **shown,
                       **{"stopping rule:": stop_words(last)})
            if stop_after_cycle is not None and s.cycle >= stop_after_cycle:
                break

    def run(self, stop_after_cycle: int | None = None) -> LoopResult:
        cfg, s = self.cfg, self.state
        self.resume()
        complete = all((self.out / name).exists() for name in OUTPUTS)
        self.config_text = json_text(run_record(cfg, fingerprint=self.fingerprint))
        made = self.out / PROVENANCE_JSON      # a finished run keeps what it was made with
        self.provenance_text = (made.read_text() if s.cycle >= cfg.cycles and made.exists()
                                else json_text(provenance(self.device)))
        if s.cycle >= cfg.cycles and not complete:
            self.save()                # finished before, but files were removed since
        if s.cycle < cfg.cycles:
            self._cycles(stop_after_cycle)
        ask_for_labels(cfg, self.out, self.waiting, s.cycle,
                       ranking(source_batches(cfg)) if self.waiting else None,
                       self.waiting_p_defect(), s.cycle_rows[-1] if s.cycle_rows else None)
        if cfg.oracle == "file" and s.cycle >= cfg.cycles:
            if not (self.out / NEXT_TO_LABEL).exists():
                self.next_to_label()
            say_finished(self.out, len(self.pool) - len(set(s.labeled)))
        return LoopResult(self.out, pd.DataFrame(s.epoch_rows), pd.DataFrame(s.cycle_rows),
                          [self.keys[i] for i in s.trained_on()], self.pool, s.timing,
                          self.labels_used(), self.waiting, cfg.cycles)

    def next_to_label(self):
        """The finished classifier's probabilities for every image it has no label for."""
        taken = set(self.state.labeled)
        rest = [i for i in range(len(self.pool)) if i not in taken]
        prob = self.learner.probabilities(self.state.model_state, self.state.cycle, rest,
                                          Timer(self.device))
        write_next_to_label(self.cfg, self.out, [self.keys[i] for i in rest], prob,
                            ranking(source_batches(self.cfg)))


def run_active_learning(cfg: Params, progress: bool = True,
                        stop_after_cycle: int | None = None) -> LoopResult:
    """Stage 03 for one (category, init, seed): run, or resume, the cycles.

    The run folder is locked meanwhile: a second process on the same run waits, then
    resumes from what the first one left.
    """
    with exclusive(al_dir(cfg), f"running {cfg.category} {cfg.init} seed {cfg.seed}"):
        return Loop(cfg, progress).run(stop_after_cycle)


"""Did a rebuilt result reproduce the committed one? Checks with derived tolerances.

Three kinds of output (README, "Reproducing elsewhere"):
- deterministic given their inputs (data, batches from scores, initial picks, tables from
  runs): compared exactly;
- trained numbers (DRAEM's AUROCs, the classifier's metrics): compared within a tolerance;
- timings: never compared.

How a tolerance is derived. On another CPU the same seed trains to other numbers: the
kernels sum in another order, and training grows those last-bit differences into another
trajectory, so a rebuilt number varies like a run with another seed (measured: README).
If one run's value has seed standard deviation sigma, the difference of two runs has
standard deviation sigma * sqrt(2), and that of two means over n seeds sigma * sqrt(2 / n).
A value fails when |rebuilt - committed| > z * sigma * sqrt(2 / n), where z is the
two-sided normal quantile for a family-wise false-alarm rate ALPHA over the m values checked
together (Bonferroni): z = Phi^-1(1 - ALPHA / (2 m)). sigma is pooled (root mean square)
over the cells of a table, because three seeds alone estimate a standard deviation poorly.
The seed spreads come from the committed experiment: the classifier's from its seeds, and
DRAEM's from runs/<exp>/draem_seed_spread.csv (`python -m asal draem-spread`).
"""

from __future__ import annotations

import io
import json
import math
import shutil
import subprocess
import tarfile
from dataclasses import dataclass
from io import StringIO
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import norm

from asal.config import PROJECT_ROOT, Config, resolve
from asal.errors import AsalError
from asal.io import write_csv

ALPHA = 0.01                 # family-wise chance that a faithful rebuild fails a check
SPREAD_FILE = "draem_seed_spread.csv"
# The classifier's final AUROC and AUBC with pretext networks of other seeds (stage 00): a
# machine with other kernels trains another pretext network, and that moves the classifier
# more than its own seed does (python -m asal pretext-spread).
PRETEXT_SPREAD_FILE = "pretext_seed_spread.csv"
DRAEM_METRICS = ("test_image_auroc", "test_pixel_auroc", "pool_image_auroc")
# Tables that check-reproduction compares; their *_mean and DRAEM_* cells are headline cells.
HEADLINE_TABLES = ("comparison_auroc", "aubc_auroc")
# Initial selections that use no trained model: identical on every machine.
DATA_ONLY_INITS = ("random",)
# inits whose pick follows from the batches alone, so a re-run on the committed batches
# must pick the same images
BATCH_INITS = ("asal", "random", "top")


def z_value(m: int, alpha: float = ALPHA) -> float:
    """Two-sided normal quantile with a Bonferroni correction over m checks."""
    return float(norm.ppf(1 - alpha / (2 * max(m, 1))))


def tolerance(sigma: float, n: int, m: int) -> float:
    """Largest |rebuilt - committed| accepted for a mean over n seeds among m checks."""
    return z_value(m) * sigma * math.sqrt(2 / n)


def pooled_sd(values) -> float:
    """Root mean square of standard deviations (NaNs left out)."""
    arr = np.asarray([v for v in values if v is not None and not pd.isna(v)], dtype=float)
    if not len(arr):
        raise AsalError("No seed spread is recorded to derive a tolerance from; run the "
                        "experiment with at least two seeds (and `python -m asal draem-spread`"
                        " for DRAEM).")
    return float(np.sqrt(np.mean(arr ** 2)))


@dataclass
class Verdict:
    """One compared value: exact when tolerance is None."""

    name: str
    committed: float | str
    rebuilt: float | str
    tolerance: float | None = None
    shown: str | None = None         # how the tolerance is described, if not by its value

    @property
    def ok(self) -> bool:
        if self.tolerance is None:
            return self.committed == self.rebuilt
        if pd.isna(self.committed) or pd.isna(self.rebuilt):
            return pd.isna(self.committed) and pd.isna(self.rebuilt)
        return abs(float(self.rebuilt) - float(self.committed)) <= self.tolerance

    def row(self) -> dict:
        return {"cell": self.name, "committed": self.committed, "rebuilt": self.rebuilt,
                "tolerance": "exact" if self.tolerance is None else round(self.tolerance, 4),
                "verdict": "ok" if self.ok else "DIFFERS"}


def verdict_table(verdicts: list[Verdict]) -> pd.DataFrame:
    return pd.DataFrame([v.row() for v in verdicts],
                        columns=["cell", "committed", "rebuilt", "tolerance", "verdict"])


def tolerance_lines(verdicts: list[Verdict]) -> str:
    """What is checked and how closely: the same text on every machine (no values)."""
    return "\n".join(f"{v.name}: " + (v.shown or "exact" if v.tolerance is None else v.shown
                                      or f"within {v.tolerance:.3f} of the committed value")
                     for v in verdicts)


def require(verdicts: list[Verdict], what: str) -> None:
    """Stop with the cells that differ beyond their tolerance, if any."""
    bad = [v for v in verdicts if not v.ok]
    if bad:
        cells = "; ".join(f"{v.name}: committed {v.committed}, rebuilt {v.rebuilt}"
                          + ("" if v.tolerance is None else f", tolerance {v.tolerance:.3f}")
                          for v in bad)
        raise AsalError(f"{what} did not reproduce the committed result ({cells}); see "
                        "README, 'Reproducing elsewhere'.")


# ----------------------------------------------------------------- stage 01 (DRAEM)

_DRAEM_KEYS = ("category", "train_on", "image_size", "draem_epochs", "draem_batch_size",
               "draem_lr", "draem_recon_width", "draem_disc_width", "draem_score_filter",
               "anomaly_source_dir", "scores_csv", "seed")


def read_draem_spread(runs_root, exp: str) -> pd.DataFrame | None:
    path = Path(runs_root) / exp / SPREAD_FILE
    return pd.read_csv(path) if path.exists() else None


def draem_sigma(spread: pd.DataFrame, metric: str) -> float:
    """Seed standard deviation of a DRAEM metric, pooled over categories and train_on."""
    return pooled_sd(spread.groupby(["category", "train_on"])[metric].std())


@dataclass
class DraemReference:
    """The committed metrics of a stage-01 run, read before a re-run overwrites them."""

    metrics: dict | None
    spread: pd.DataFrame | None
    why_not: str = ""

    def check(self, metrics: dict) -> list[Verdict]:
        names = [k for k in DRAEM_METRICS if self.metrics.get(k) is not None]
        return [Verdict(k, round(self.metrics[k], 4), round(metrics[k], 4),
                        tolerance(draem_sigma(self.spread, k), 1, len(names)))
                for k in names]


def draem_reference(cfg: Config) -> DraemReference:
    """The committed run with these parameters, and the recorded seed spread, if any."""
    from asal.anomaly_scores import scores_dir

    path = scores_dir(cfg) / "metrics.json"
    if not path.exists():
        return DraemReference(None, None, "no committed run in this folder")
    committed = json.loads(path.read_text())
    params = committed.get("parameters", {})
    changed = [k for k in _DRAEM_KEYS if params.get(k) != cfg.get(k)]
    if changed:
        return DraemReference(None, None, f"the committed run used other parameters "
                                          f"({', '.join(changed)})")
    spread = read_draem_spread(cfg.runs_root, cfg.exp)
    if spread is None:
        return DraemReference(None, None, f"no seed spread recorded ({SPREAD_FILE})")
    return DraemReference(committed, spread)


# ------------------------------------------------------- stage 03 (active learning)

def final_values(runs_root, exp: str, metric: str = "auroc") -> pd.DataFrame:
    """Final-cycle metric and AUBC of every committed run: category, init, seed, value."""
    from asal.results import aubc

    rows = []
    for path in sorted(Path(runs_root, exp).glob("*/al/*/seed*/metrics_cycle.csv")):
        frame = pd.read_csv(path).sort_values("cycle")
        cat, init, seed = path.parts[-5], path.parts[-3], path.parts[-2]
        rows.append({"category": cat, "init": init, "seed": seed,
                     "final": float(frame[metric].iloc[-1]),
                     "aubc": aubc(frame.n_labels, frame[metric])})
    return pd.DataFrame(rows, columns=["category", "init", "seed", "final", "aubc"])


def read_pretext_spread(runs_root, exp: str) -> pd.DataFrame | None:
    path = Path(runs_root) / exp / PRETEXT_SPREAD_FILE
    return pd.read_csv(path) if path.exists() else None


def classifier_sigma(seed_sd: float, pretext: pd.DataFrame | None, value: str,
                     n_seeds: int) -> float:
    """The sd to derive a classifier tolerance from, for means over n_seeds seeds that share
    one pretext network per category.

    The committed and a rebuilt mean differ by the classifier seeds' noise (variance
    seed_sd^2 / n each) and, on another CPU, by another pretext network (variance pt^2 each,
    not averaged over the seeds). tolerance() divides by n, so it gets the sd whose square
    is seed_sd^2 + n * pt^2. pt is the sd over pretext seeds of the same (category, init,
    seed), pooled; without a recorded pretext spread it is 0.
    """
    if pretext is None or value not in pretext:
        return seed_sd
    pt = pooled_sd(pretext.groupby(["category", "init", "seed"])[value].std())
    return math.sqrt(seed_sd ** 2 + n_seeds * pt ** 2)


@dataclass
class LoopReference:
    """The committed files of an active-learning run, read before a re-run."""

    cycles: pd.DataFrame | None
    labeled: list[str] | None
    sigma: dict | None
    why_not: str = ""
    # the initial set follows from the batches alone (asal, random, top); the other inits
    # pick with a trained network (rotation loss, features), so their pick is not compared
    exact_initial: bool = True
    # With pretrained: self_supervised, the committed pretext network's digest and the sds
    # that hold when this run starts from another one (other CPU kernels train another).
    backbone: Path | None = None
    backbone_sha1: str | None = None
    sigma_other: dict | None = None

    def same_backbone(self) -> bool:
        if self.backbone is None:
            return True
        import torch

        from asal.pretext import weights_digest
        used = weights_digest(torch.load(self.backbone, map_location="cpu", weights_only=True))
        return used == self.backbone_sha1

    def check(self, cycles: pd.DataFrame, labeled: list[str]) -> list[Verdict]:
        from asal.results import aubc

        first, mine = self.cycles.iloc[0], cycles.iloc[0]
        n_init = int(first.n_labels)
        exact = [Verdict("initial set", ";".join(self.labeled[:n_init]),
                         ";".join(labeled[:n_init])),
                 Verdict("defects in the initial set", int(first.n_anomalies),
                         int(mine.n_anomalies))] if self.exact_initial else []
        exact += [Verdict("labels per cycle", ";".join(map(str, self.cycles.n_labels)),
                         ";".join(map(str, cycles.n_labels)))]
        same = self.same_backbone()
        trained = {"final auroc": (self.cycles.auroc.iloc[-1], cycles.auroc.iloc[-1], "final"),
                   "aubc (auroc)": (aubc(self.cycles.n_labels, self.cycles.auroc),
                                    aubc(cycles.n_labels, cycles.auroc), "aubc")}
        m = len(trained)
        out = []
        for name, (c, r, key) in trained.items():
            tol = tolerance(self.sigma[key], 1, m)
            shown = None
            if self.sigma_other is not None:      # the same words whichever network was used
                wide = tolerance(self.sigma_other[key], 1, m)
                shown = (f"within {tol:.3f} of the committed value from the committed pretext "
                         f"network, {wide:.3f} from another one")
                tol = tol if same else wide
            out.append(Verdict(name, round(c, 4), round(r, 4), tol, shown))
        return exact + out


def loop_reference(cfg: Config) -> LoopReference:
    """The committed run with these parameters, and the experiment's seed spread."""
    from asal.loop import RUN_KEYS, al_dir

    out = al_dir(cfg)
    config = out / "config.json"
    if not (config.exists() and (out / "metrics_cycle.csv").exists()):
        return LoopReference(None, None, None, "no committed run in this folder")
    committed = json.loads(config.read_text())
    changed = [k for k in RUN_KEYS if committed.get(k) != cfg.get(k)]
    if changed or committed.get("batches_dir") != cfg.batches_dir:
        return LoopReference(None, None, None, "the committed run used other parameters "
                             f"({', '.join(changed) or 'batches_dir'})")
    cycles = pd.read_csv(out / "metrics_cycle.csv")
    if len(cycles) < cfg.cycles:                  # oracle file: it waits for labels
        return LoopReference(None, None, None, "the run in this folder is not finished")
    if cycles.auroc.isna().all():
        return LoopReference(None, None, None, "it has no test metrics (no test split)")
    finals = final_values(cfg.runs_root, cfg.exp)
    spread = finals.groupby(["category", "init"])[["final", "aubc"]].std()
    if spread.isna().all().all():
        return LoopReference(None, None, None, "the experiment has a single seed")
    sigma = {k: pooled_sd(spread[k]) for k in ("final", "aubc")}
    reference = LoopReference(cycles,
                              (out / "labeled.txt").read_text().split(), sigma,
                              exact_initial=cfg.init in BATCH_INITS)
    pretext = read_pretext_spread(cfg.runs_root, cfg.exp)
    if cfg.pretrained == "self_supervised" and pretext is not None:
        from asal.pretext import BACKBONE, pretext_dir, read_metrics
        committed_pretext = read_metrics(cfg) or {}
        reference.backbone = pretext_dir(cfg) / BACKBONE
        reference.backbone_sha1 = committed_pretext.get("backbone_sha1")
        reference.sigma_other = {k: classifier_sigma(v, pretext, k, 1) for k, v in sigma.items()}
    return reference


def report(reference, *args, what: str) -> None:
    """The notebooks' check: print what is compared, then stop if anything differs."""
    if reference.why_not:
        print(f"Not compared with a committed result: {reference.why_not}.")
        return
    verdicts = reference.check(*args)
    print(tolerance_lines(verdicts))
    require(verdicts, what)
    print("reproduced: every value is within its tolerance")


# --------------------------------------------------- stage 04 tables (whole experiment)

def parse_table(text: str) -> tuple[pd.DataFrame, str]:
    """A results table CSV (see results.write_table) and its '#' provenance line."""
    first = text.splitlines()[0] if text else ""
    return pd.read_csv(StringIO(text), comment="#"), first


def committed_text(rel: str, ref: str = "HEAD") -> str:
    """The committed version of a file of the project (a path relative to it), from git."""
    out = subprocess.run(["git", "show", f"{ref}:{rel}"], cwd=PROJECT_ROOT,
                         capture_output=True, text=True)
    if out.returncode:
        raise AsalError(f"git has no committed {rel} at {ref}; pass --reference with the "
                        "folder of the committed tables.")
    return out.stdout


def copy_committed_runs(dest: Path, keep: tuple[str, ...] = ("backbone.pt",)) -> None:
    """The committed runs/ (git HEAD, whatever a rebuild changed since) as dest/.

    Outside a git checkout, the folder as it is, without weights and executed notebooks.
    The tests and notebooks/refresh_outputs.py run the notebooks on such a copy. Files
    named in `keep` that dest/ already holds stay: the pretext backbones are never
    committed (45 MB each), so 03 uses the one 00 trained in the same session.
    """
    dest = Path(dest)
    kept = {p.relative_to(dest): p.read_bytes() for name in keep
            for p in dest.rglob(name)} if dest.exists() else {}
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    for rel, data in kept.items():
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        (dest / rel).write_bytes(data)
    archive = subprocess.run(["git", "archive", "--format=tar", "HEAD", "runs"],
                             cwd=PROJECT_ROOT, capture_output=True)
    if archive.returncode == 0:
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            for member in tar.getmembers():       # runs/<...> -> dest/<...>
                member.name = member.name.removeprefix("runs").lstrip("/") or "."
            tar.extractall(dest, filter="data")
    else:
        shutil.copytree(PROJECT_ROOT / "runs", dest, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("*.pt", "notebooks"))


def _seeds_of(provenance: str) -> int:
    for part in provenance.split(";"):
        key, _, value = part.strip().partition("=")
        if key == "seeds":
            return len(value.split(","))
    raise AsalError("A table's provenance line names no seeds; rebuild it with 04_results.")


def check_tables(committed: dict[str, tuple[pd.DataFrame, str]],
                 rebuilt: dict[str, tuple[pd.DataFrame, str]],
                 draem_spread: pd.DataFrame | None,
                 pretext_spread: pd.DataFrame | None = None) -> list[Verdict]:
    """Cell-by-cell verdicts for the headline tables (see the module docstring)."""
    cells = []          # (table, category, column, committed, rebuilt, sigma, n)
    for name in HEADLINE_TABLES:
        (old, line), (new, _) = committed[name], rebuilt[name]
        if list(old.category) != list(new.category) or list(old.columns) != list(new.columns):
            raise AsalError(f"The rebuilt {name} has other rows or columns than the committed "
                            "one; rebuild with the same profile (categories, inits).")
        n_seeds, n_cats = _seeds_of(line), int((old.category != "mean").sum())
        inits = [c[:-5] for c in old.columns if c.endswith("_mean")]
        stds = [old[f"{i}_std"] for i in inits] + [new[f"{i}_std"] for i in inits]
        body = old.category != "mean"
        value = "final" if name == "comparison_auroc" else "aubc"
        sigma = classifier_sigma(pooled_sd(pd.concat([s[body] for s in stds])),
                                 pretext_spread, value, n_seeds)
        for k, cat in enumerate(old.category):
            n = n_seeds * (n_cats if cat == "mean" else 1)
            for i in inits:
                col = f"{i}_mean"
                cells.append((name, cat, col, old[col][k], new[col][k], sigma, n))
            for col in (c for c in old.columns if c.startswith("DRAEM_")):
                if draem_spread is None:
                    raise AsalError(f"No DRAEM seed spread ({SPREAD_FILE}) to derive the "
                                    f"tolerance of {col}; run `python -m asal draem-spread`.")
                s = draem_sigma(draem_spread[draem_spread.train_on == col[6:]],
                                "test_image_auroc")
                cells.append((name, cat, col, old[col][k], new[col][k], s,
                              n_cats if cat == "mean" else 1))
    m = len(cells)
    return [Verdict(f"{t}[{cat}, {col}]", round(float(c), 4), round(float(r), 4),
                    tolerance(s, n, m)) for t, cat, col, c, r, s, n in cells]


def check_deterministic(committed: pd.DataFrame, rebuilt: pd.DataFrame) -> list[Verdict]:
    """Defects in the initial set of the inits that use no trained model (random: seeded
    picks from the data), compared exactly."""
    old = committed[committed.init.isin(DATA_ONLY_INITS)].set_index(["category", "init"])
    new = rebuilt[rebuilt.init.isin(DATA_ONLY_INITS)].set_index(["category", "init"])
    return [Verdict(f"initial_anomalies[{cat}, {init}, {col}]", round(float(row[col]), 4),
                    round(float(new.loc[(cat, init), col]), 4) if (cat, init) in new.index
                    else "missing")
            for (cat, init), row in old.iterrows() for col in ("mean", "min", "max")]


def check_reproduction(figures_dir, reference_dir=None, runs_root=None,
                       exp: str | None = None) -> tuple[pd.DataFrame, bool]:
    """Compare rebuilt tables with the committed ones: figures/<exp>/ at git HEAD, or the
    tables in reference_dir."""
    figures_dir = Path(figures_dir)
    exp = exp or figures_dir.name

    def pair(name):
        path = figures_dir / f"{name}.csv"
        if not path.exists():
            raise AsalError(f"{path} does not exist; run README's main command (or "
                            "notebooks/04_results.ipynb) first.")
        old = (Path(reference_dir, f"{name}.csv").read_text() if reference_dir
               else committed_text(f"figures/{exp}/{name}.csv"))
        return parse_table(old), parse_table(path.read_text())

    pairs = {name: pair(name) for name in (*HEADLINE_TABLES, "initial_anomalies")}
    root = runs_root or PROJECT_ROOT / "runs"
    same = same_pretext_networks(root, exp)
    verdicts = check_tables({k: old for k, (old, _) in pairs.items()},
                            {k: new for k, (_, new) in pairs.items()},
                            read_draem_spread(root, exp),
                            None if same else read_pretext_spread(root, exp))
    (old, _), (new, _) = pairs["initial_anomalies"]
    verdicts += check_deterministic(old, new)
    table = verdict_table(verdicts)
    table.attrs["same_pretext_networks"] = same
    return table, all(v.ok for v in verdicts)


def same_pretext_networks(runs_root, exp: str) -> bool:
    """Whether the pretext networks in runs_root are the committed ones, bit for bit (by
    the digests in their metrics.json): then the classifier's tolerances need not allow
    for another pretext network."""
    for path in sorted(Path(runs_root, exp).glob("*/pretext/*/metrics.json")):
        rel = path.relative_to(Path(runs_root)).as_posix()
        try:
            committed = json.loads(committed_text(f"runs/{rel}"))
        except AsalError:
            return False
        if committed.get("backbone_sha1") != json.loads(path.read_text()).get("backbone_sha1"):
            return False
    return True


# ------------------------------------------------------------ DRAEM's seed spread

def _train_one(overrides: dict) -> dict:
    """One DRAEM run in a scratch folder; its AUROCs (runs in a worker process)."""
    import tempfile

    import torch

    from asal.anomaly_scores import run_draem

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as runs:
        cfg = resolve(**{**overrides, "runs_root": runs})
        metrics = run_draem(cfg, progress=False).metrics
    return {"category": cfg.category, "train_on": cfg.train_on, "seed": cfg.seed,
            **{k: metrics.get(k) for k in DRAEM_METRICS}}


def _pretext_seed_runs(profile: str, category: str, pretext_seed: int, root: str) -> list:
    """Stage 00 with another pretext seed, then the experiment's inits x seeds on the
    committed batches, in `root` (runs in a worker process); their final AUROC and AUBC."""
    import torch

    from asal.batches import batches_dir
    from asal.loop import run_active_learning
    from asal.results import aubc

    torch.set_num_threads(1)
    base = resolve(profile, category=category)
    rows = []
    for init in base.inits:
        for seed in base.seeds:
            cfg = resolve(profile, category=category, init=init, seed=seed, runs_root=root,
                          pretext_seed=pretext_seed, batches_dir=str(batches_dir(base)))
            cycles = run_active_learning(cfg, progress=False).cycles
            rows.append({"category": category, "pretext_seed": pretext_seed, "init": init,
                         "seed": seed, "final": float(cycles.auroc.iloc[-1]),
                         "aubc": aubc(cycles.n_labels, cycles.auroc)})
    return rows


def measure_pretext_spread(profile: str = "synthetic", pretext_seeds=(1, 2), jobs: int = 2,
                           scratch=None) -> pd.DataFrame:
    """The classifier's final AUROC and AUBC with pretext networks of other seeds.

    The experiment's own runs (its pretext seed) are read; for every other pretext seed and
    category a pretext network is trained in a scratch folder and every init x seed of the
    experiment runs from it, `jobs` at a time. Writes runs/<exp>/pretext_seed_spread.csv.
    """
    import multiprocessing
    import tempfile
    from concurrent.futures import ProcessPoolExecutor

    from asal.synthetic import ensure_synthetic

    base = resolve(profile)
    finals = final_values(base.runs_root, base.exp)
    rows = [{"category": r.category, "pretext_seed": base.pretext_seed, "init": r.init,
             "seed": int(r.seed.removeprefix("seed")), "final": r.final, "aubc": r.aubc}
            for r in finals.itertuples()]
    if not rows:
        raise AsalError(f"No runs of {base.exp} in {base.runs_root}; run the experiment "
                        "(README's main command) before measuring the pretext spread.")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(scratch or tmp)
        todo = []
        for cat in base.categories:
            ensure_synthetic(base.data_root, cat)
            todo += [(profile, cat, p, str(root / f"pretext_seed{p}")) for p in pretext_seeds
                     if p != base.pretext_seed]
        with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            for part in pool.map(_pretext_seed_runs, *zip(*todo)):
                rows += part
    frame = pd.DataFrame(rows).sort_values(["category", "init", "seed", "pretext_seed"])
    write_csv(Path(base.runs_root) / base.exp / PRETEXT_SPREAD_FILE, frame)
    return frame


def measure_draem_spread(profile: str = "synthetic", seeds=(1, 2), jobs: int = 2,
                         runs_root=None) -> pd.DataFrame:
    """DRAEM's AUROCs over seeds, for every category and train_on of an experiment (normal
    only where the profile's draem_normal asks for it).

    The experiment's own runs (runs/<exp>/<cat>/scores/<train_on>/metrics.json, made with
    the profile's seed) are read; the other seeds are trained in scratch folders, `jobs` at
    a time, one CPU thread each. Writes runs/<exp>/draem_seed_spread.csv.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from asal.anomaly_scores import scores_dir
    from asal.synthetic import ensure_synthetic

    base = resolve(profile, category=None, **({"runs_root": str(runs_root)} if runs_root
                                              else {}))
    rows, todo = [], []
    for cat in base.categories:
        ensure_synthetic(base.data_root, cat)     # here, not in two workers at once
        for train_on in ("mixed", "normal") if base.draem_normal else ("mixed",):
            cfg = resolve(profile, category=cat, train_on=train_on, runs_root=base.runs_root)
            path = scores_dir(cfg) / "metrics.json"
            if not path.exists():
                raise AsalError(f"{path} does not exist; run the experiment (README's main "
                                "command) before measuring the seed spread.")
            own = json.loads(path.read_text())
            rows.append({"category": cat, "train_on": train_on, "seed": cfg.seed,
                         **{k: own.get(k) for k in DRAEM_METRICS}})
            todo += [{"profile": profile, "category": cat, "train_on": train_on,
                      "seed": s, "device": "cpu"} for s in seeds if s != cfg.seed]
    # spawned workers import asal first, so they pin the CPU kernels as the pipeline does
    with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        rows += list(pool.map(_train_one, todo))
    frame = pd.DataFrame(rows).sort_values(["category", "train_on", "seed"])
    write_csv(Path(base.runs_root) / base.exp / SPREAD_FILE, frame)
    return frame

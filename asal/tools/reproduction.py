"""check-reproduction: do an experiment's rebuilt tables reproduce the committed ones?

Each headline cell (the means and DRAEM's AUROCs of comparison_auroc and aubc_auroc) is
compared within a tolerance derived from the experiment's seed spread
(asal/tools/tolerance.py), and the defects in Random's initial sets exactly.
"""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pandas as pd

from asal.config.layout import METRICS_JSON, SCORER_SPREAD, RunLayout
from asal.errors import AsalError
from asal.tools.tolerance import (TOLERANCE_CEILING, Verdict, classifier_sigma, pooled_sd,
                                   scorer_sd, tolerance, verdict_table)
from asal.project import PROJECT_ROOT
from asal.result_figures import scorer_columns
from asal.tools.checks import read_spread
from asal.tools.committed import committed_text

# Tables that check-reproduction compares; their *_mean and DRAEM_* cells are headline cells.
HEADLINE_TABLES = ("comparison_auroc", "aubc_auroc")
# Initial selections that use no trained model: identical on every machine.
DATA_ONLY_INITS = ("random",)


def parse_table(text: str) -> tuple[pd.DataFrame, str]:
    """A results table CSV (see results.write_table) and its '#' provenance line."""
    first = text.splitlines()[0] if text else ""
    return pd.read_csv(StringIO(text), comment="#"), first


def _seeds_of(provenance: str) -> int:
    for part in provenance.split(";"):
        key, _, value = part.strip().partition("=")
        if key == "seeds":
            return len(value.split(","))
    raise AsalError("A table's provenance line names no seeds; rebuild it with 04_results.")


def check_tables(committed: dict[str, tuple[pd.DataFrame, str]],
                 rebuilt: dict[str, tuple[pd.DataFrame, str]],
                 scorer_spread: pd.DataFrame | None,
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
            for col in scorer_columns(old):
                scorer, _, train_on = col.rpartition("_")
                s = scorer_sigma(scorer_spread, scorer, train_on, col)
                # a column with its std beside it averages the experiment's scorer seeds
                # (tie_seeds); one without is one fitted run (a baseline such as draem_normal)
                seeds = n_seeds if f"{col}_std" in old.columns else 1
                cells.append((name, cat, col, old[col][k], new[col][k], s,
                              seeds * (n_cats if cat == "mean" else 1)))
    m = len(cells)
    return [Verdict(f"{t}[{cat}, {col}]", round(float(c), 4), round(float(r), 4),
                    tolerance(s, n, m), ceiling=TOLERANCE_CEILING)
            for t, cat, col, c, r, s, n in cells]


def scorer_sigma(spread: pd.DataFrame | None, scorer: str, train_on: str,
                 column: str) -> float:
    """The seed sd of a scorer's test AUROC: from the seeds recorded by `asal
    scorer-spread` (the experiment's own and more; a baseline fitted with one seed takes
    the spread of its scorer's runs on the whole pool)."""
    if spread is None:
        raise AsalError(f"No seed spread of the scorers ({SCORER_SPREAD}) to derive the "
                        f"tolerance of {column} from; run `asal scorer-spread`.")
    own = spread[(spread.scorer == scorer) & (spread.train_on == train_on)]
    if own.scorer_seed.nunique() < 2:
        own = spread[spread.scorer == scorer]
    return scorer_sd(own)


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
    layout = RunLayout(Path(runs_root or PROJECT_ROOT / "runs") / exp)
    same = same_pretext_networks(layout)
    verdicts = check_tables({k: old for k, (old, _) in pairs.items()},
                            {k: new for k, (_, new) in pairs.items()},
                            read_spread(layout.scorer_spread),
                            None if same else read_spread(layout.pretext_spread))
    (old, _), (new, _) = pairs["initial_anomalies"]
    verdicts += check_deterministic(old, new)
    table = verdict_table(verdicts)
    table.attrs["same_pretext_networks"] = same
    return table, all(v.ok for v in verdicts)


def same_pretext_networks(layout: RunLayout) -> bool:
    """Whether the experiment's pretext networks are the committed ones, bit for bit (by
    the digests in their metrics.json): then the classifier's tolerances need not allow
    for another pretext network."""
    for *_, folder in layout.pretext_runs():
        path = folder / METRICS_JSON
        if not path.exists():
            continue
        rel = path.relative_to(layout.runs.parent).as_posix()
        try:
            committed = json.loads(committed_text(f"runs/{rel}"))
        except AsalError:
            return False
        if committed.get("backbone_sha1") != json.loads(path.read_text()).get("backbone_sha1"):
            return False
    return True

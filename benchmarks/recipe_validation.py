"""Choose the classifier's recipe on a validation part of each pool, never on a test split.

    python benchmarks/recipe_validation.py --data data \
        --out figures/recipe_validation/elpv_coldstart.csv \
        --categories elpv_mono elpv_poly elpv_mono_10pct elpv_poly_10pct \
        --seeds 0 1 2 --inits random top

The candidates (CANDIDATES) are the features-only head and the anchored evidence head at
five means of its hyperprior on tau, with two sets of the body's features, with tau
chosen by cross-validation once the labeled set holds 10 or 20 of each class, and, below
that, the features kept out until the evidence for them beats the scorer alone by a Bayes
factor of 3 or 10.

Each category's pool is split 0.75 / 0.25, stratified and seeded, into a development pool
and a validation part (links, in a scratch data root where the validation part stands in
for the test split); the real test split is never read. The profile's scorer ranks the
development pool and scores the validation part (01), 02 cuts the batches, and every
candidate recipe then runs the loop (least confidence) from each initial selection. The
table gives, per category, recipe and init, the validation AUROC at 10, 19, 50, 100 and
200 labels (the profile's queries, growing with the labeled set), the scorer's own
validation AUROC beside it, and the defects in the first 10 labels.
"""

import argparse
import itertools
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from asal.config.profiles import resolve
from asal.data.folders import CLASSES, list_split
from asal.io import write_csv, write_text
from asal.stages.active_learning.loop import run_active_learning
from asal.stages.batches import make_batches
from asal.stages.scores import fit_and_score
from asal.stages.statistics import paired_comparison

LAYERS_2_3 = ["layer2_mean", "layer3_mean", "layer2_max", "layer3_max"]


def evidence(tau_scale: float, features: list[str], cv_from: int | None = None,
             anchor_bf: float = 1.0, cv_se: float = 0.0) -> dict:
    """The loop's parameters of the anchored evidence head (asal/models/anchored_head.py):
    the mean of its hyperprior on tau, the body's features it reads, the labels of each
    class from which tau is chosen by cross-validation instead, the Bayes factor the
    evidence must give the features over the scorer alone before they join, and the
    standard errors by which cross-validation's tau must beat tau 0."""
    return dict(head="evidence", evidence_prior=2.0, evidence_c=0.1, head_tau_scale=tau_scale,
                body_features=features, head_cv_from=cv_from, head_anchor_bf=anchor_bf,
                head_cv_se=cv_se)


CANDIDATES = {      # name -> parameters of the loop
    "features: lbfgs C=1 balanced, layer4": dict(head="lbfgs", head_c=1.0, head_balanced=True,
                                                 body_features=["layer4_mean"]),
    **{f"evidence: tau scale {t:g}, layer2+3": evidence(t, LAYERS_2_3) for t in (0.5, 1, 2, 4, 8)},
    "evidence: tau scale 0.5, layer4": evidence(0.5, ["layer4_mean"]),
    **{f"evidence, cross-validated from {k}: tau scale {t:g}, layer2+3":
       evidence(t, LAYERS_2_3, cv_from=k) for k in (10, 20) for t in (2,)},
    **{f"evidence, cross-validated from 20, anchor Bayes factor {bf:g}: tau scale 2, layer2+3":
       evidence(2, LAYERS_2_3, cv_from=20, anchor_bf=bf) for bf in (3, 10)},
    "evidence, cross-validated from 20 (1 standard error), anchor Bayes factor 10: "
    "tau scale 2, layer2+3": evidence(2, LAYERS_2_3, cv_from=20, anchor_bf=10, cv_se=1),
}
MARKS = (10, 19, 50, 100, 200)
STOP_KAPPAS = (0.95, 0.97, 0.98, 0.99, 0.995)     # the stopping rule's thresholds tried
# the rule's verdicts that depend on its threshold; before them it cannot stop at any
# (asal/models/stopping.py: too few defects, one class predicted, too few kappas)
KAPPA_VERDICTS = ("predictions stable", "predictions still changing")


def validation_root(data: Path, category: str, dest: Path, seed: int = 0) -> str:
    """dest/<category>_dev: the development pool as train/, the validation part as test/
    (a name of its own: a built-in category's name would be made anew on first use)."""
    paths, labels = list_split(data, category, "train")
    dev, val = train_test_split(np.arange(len(paths)), test_size=0.25, stratify=labels,
                                random_state=seed)
    name = f"{category}_dev"
    for split, idx in (("train", dev), ("test", val)):
        for i in idx:
            link = dest / name / split / CLASSES[labels[i]] / Path(paths[i]).name
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(Path(paths[i]).resolve())
    return name


def stops(cycles: pd.DataFrame) -> dict:
    """Where the stopping rule would stop at each threshold of STOP_KAPPAS: the labels
    there and the validation AUROC, or the run's last cycle where it never does."""
    eligible = cycles.stop_reason.isin(KAPPA_VERDICTS)
    out = {}
    for t in STOP_KAPPAS:
        hit = cycles[eligible & (cycles.kappa_mean >= t)]
        row = hit.iloc[0] if len(hit) else cycles.iloc[-1]
        out[f"stop_labels_{t:g}"], out[f"stop_auroc_{t:g}"] = row.n_labels, row.auroc
    return out


def summarise(cycles: pd.DataFrame, first_labels: int, scorer_auroc: float) -> dict:
    """The run at the marks, and its lowest validation AUROC over every cycle less its
    scorer's (the target: never below the scorer - 0.01, at any budget)."""
    at = cycles.set_index("n_labels").auroc
    return {**{f"auroc_{m}": at.get(m, np.nan) for m in MARKS},
            "worst_gap": cycles.auroc.min() - scorer_auroc,
            "defects_in_first_10": first_labels, **stops(cycles)}


def summary(frame: pd.DataFrame) -> pd.DataFrame:
    """Per category, recipe and init: means over the seeds, and the seeds' spread at 200."""
    by = frame.groupby(["category", "recipe", "init"], sort=True)
    columns = ["scorer_auroc", *(f"auroc_{m}" for m in MARKS), "defects_in_first_10"]
    table = by[columns + (["worst_gap"] if "worst_gap" in frame else [])].mean()
    table.insert(len(MARKS) + 1, "sd_200", by.auroc_200.std())
    table.insert(2, "gap_10", table.auroc_10 - table.scorer_auroc)
    return table.round(3).reset_index()


def stopping_summary(frame: pd.DataFrame) -> pd.DataFrame:
    """Per recipe and threshold, over the categories, inits and seeds: the labels at the
    stop (median) and the AUROC the stop gives up against the run's 200-label end (mean,
    and the worst category's mean)."""
    rows = []
    for recipe, g in frame.groupby("recipe", sort=True):
        for t in STOP_KAPPAS:
            if f"stop_auroc_{t:g}" not in g or g[f"stop_auroc_{t:g}"].isna().all():
                continue      # a run recorded before the rule's columns
            loss = g.auroc_200 - g[f"stop_auroc_{t:g}"]
            rows.append({"recipe": recipe, "stop_kappa": t,
                         "stop_labels_median": g[f"stop_labels_{t:g}"].median(),
                         "loss_mean": loss.mean(),
                         "worst_category_loss": loss.groupby(g.category).mean().max()})
    return pd.DataFrame(rows).round(3)


def against_reference(frame: pd.DataFrame, reference: str) -> pd.DataFrame:
    """Every other recipe against `reference`, paired by category, init and seed: wins,
    losses, the mean difference and Wilcoxon's p at each mark and for the lowest AUROC over
    every cycle (worst_gap)."""
    # paired_comparison pairs (category, seed) and compares inits: here a pair is a
    # category's init and seed, and the compared columns are the recipes
    pairs = frame.assign(category=frame.category + "/" + frame.init, init=frame.recipe)
    measures = [f"auroc_{m}" for m in MARKS] + (["worst_gap"] if "worst_gap" in frame else [])
    rows = [{"recipe": recipe, "measure": m, **paired_comparison(pairs, recipe, reference, m)}
            for recipe in sorted(set(frame.recipe) - {reference}) for m in measures]
    return pd.DataFrame(rows).round({"mean_difference": 4, "wilcoxon_p": 4})


def cells_below_scorer(frame: pd.DataFrame, margin: float = 0.01) -> pd.DataFrame:
    """Per recipe: the cells (category and init, mean over seeds) below the scorer - margin
    at some mark, of all its cells (the target: none)."""
    by = frame.groupby(["recipe", "category", "init"])
    marks = by[[f"auroc_{m}" for m in MARKS]].mean()
    below = marks.sub(by.scorer_auroc.mean() - margin, axis=0).lt(0).any(axis=1)
    return below.groupby("recipe").agg(cells_below="sum", cells="size").reset_index()


def write_tables(frame: pd.DataFrame, out: Path, reference: str | None = None,
                 beside: list[Path] = ()) -> None:
    """The per-run CSV at `out`, the summary as Markdown beside it (docs/elpv.md), its
    tables over these runs and those of the CSVs `beside` (runs of the same parts, seeds
    and inits committed earlier: each run is kept once, in its own CSV)."""
    write_csv(out, frame)
    frame = pd.concat([*(pd.read_csv(p) for p in beside), frame], ignore_index=True)
    seeds = frame.seed.nunique()
    title = (f"**Validation AUROC on each pool's validation part, mean over {seeds} seeds "
             "(gap_10: the classifier at 10 labels less its scorer; sd_200: the seeds' "
             "spread at 200 labels; worst_gap: the lowest AUROC over every cycle less the "
             "scorer's, where recorded)**\n\n")
    text = title + summary(frame).to_markdown(index=False) + "\n"
    stopping = stopping_summary(frame)
    if len(stopping):
        text += ("\n**The stopping rule on the validation parts: per recipe and kappa "
                 "threshold, the labels at the stop (median over categories, inits and seeds) "
                 "and the validation AUROC it gives up against the 200-label end (mean, and "
                 "the worst category's mean)**\n\n" + stopping.to_markdown(index=False) + "\n")
    if reference is not None and reference in set(frame.recipe):
        text += (f"\n**Each recipe against {reference}, paired by category, init and seed "
                 "(wins and losses beyond 0.001; worst_gap: the run's lowest AUROC over "
                 "every cycle less the scorer's)**\n\n"
                 + against_reference(frame, reference).to_markdown(index=False) + "\n"
                 "\n**Cells (category and init, mean over seeds) below the scorer - 0.01 "
                 "at some mark**\n\n" + cells_below_scorer(frame).to_markdown(index=False)
                 + "\n")
    write_text(out.with_suffix(".md"), text)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="the data root of the categories")
    parser.add_argument("--categories", nargs="+", required=True)
    parser.add_argument("--profile", default="elpv_coldstart")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--inits", nargs="+", default=["random", "asal", "top"])
    parser.add_argument("--candidates", nargs="+", default=list(CANDIDATES))
    parser.add_argument("--out", type=Path, required=True, help="the per-run CSV")
    parser.add_argument("--reference", choices=list(CANDIDATES),
                        help="compare every other recipe with this one, paired")
    parser.add_argument("--beside", type=Path, nargs="*", default=[],
                        help="per-run CSVs of earlier recipes, for the tables only")
    parser.add_argument("--tables-only", action="store_true",
                        help="only write the Markdown summary of an existing --out CSV")
    args = parser.parse_args()
    if args.tables_only:
        write_tables(pd.read_csv(args.out), args.out, args.reference, args.beside)
        return
    rows = []
    with tempfile.TemporaryDirectory(prefix="asal-recipe-") as tmp:
        root, scored = Path(tmp) / "data", Path(tmp) / "scored"
        for cat in args.categories:
            dev = validation_root(Path(args.data), cat, root)
            base = dict(category=dev, data_root=str(root), device="cpu", cpu_threads=1,
                        query="least_confidence")     # the profile's cycles, to 200 labels
            scorer_auroc = {}
            for seed in args.seeds:     # tie_seeds: seed k's scorer is part of replicate k
                scoring = resolve(args.profile, runs_root=str(scored), seed=seed, **base)
                scorer_auroc[seed] = fit_and_score(scoring, progress=False) \
                    .metrics["test_image_auroc"]
                make_batches(scoring)
            for name, init, seed in itertools.product(args.candidates, args.inits, args.seeds):
                runs = Path(tmp) / "runs" / f"{cat}-{len(rows)}"
                shutil.copytree(scored, runs)
                cfg = resolve(args.profile, runs_root=str(runs), init=init, seed=seed,
                              **base, **CANDIDATES[name])
                result = run_active_learning(cfg, progress=False)
                first = int(result.cycles.n_anomalies.iloc[0])
                rows.append({"category": cat, "recipe": name, "init": init, "seed": seed,
                             "scorer_auroc": scorer_auroc[seed],
                             **summarise(result.cycles, first, scorer_auroc[seed])})
                print(rows[-1], flush=True)
                write_csv(args.out, pd.DataFrame(rows))    # a stop keeps the runs done
                shutil.rmtree(runs)
    frame = pd.DataFrame(rows)
    write_tables(frame, args.out, args.reference, args.beside)
    with pd.option_context("display.width", 200, "display.max_columns", None):
        print(summary(frame))


if __name__ == "__main__":
    main()

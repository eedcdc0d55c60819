"""Command line: `python -m asal <command>`; `python -m asal <command> --help` explains
each one's options and defaults."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from asal.errors import AsalError
from asal.tools.data_commands import add_data_commands, subcommand
from asal.tools.model_commands import add_model_commands


def _draem_spread(args):
    from asal.config.layout import DRAEM_SPREAD
    from asal.tools.spread import measure_draem_spread

    start = time.perf_counter()
    from asal.config.profiles import resolve

    frame = measure_draem_spread(resolve(args.profile), args.seeds, args.jobs, args.train_on)
    summary = frame.groupby(["category", "train_on"]).test_image_auroc.agg(["mean", "std"])
    print(summary.round(3).to_string())
    print(f"{DRAEM_SPREAD} written ({len(frame)} runs) in {time.perf_counter() - start:.0f} s")


def _pretext_spread(args):
    from asal.config.layout import PRETEXT_SPREAD
    from asal.tools.spread import measure_pretext_spread

    start = time.perf_counter()
    from asal.config.profiles import resolve

    frame = measure_pretext_spread(resolve(args.profile), args.pretext_seeds, args.jobs,
                                   args.scratch)
    summary = frame.groupby(["category", "pretext_seed"]).final.agg(["mean", "std"])
    print(summary.round(3).to_string())
    print(f"{PRETEXT_SPREAD} written ({len(frame)} runs) in "
          f"{time.perf_counter() - start:.0f} s")


def _check_reproduction(args):
    import pandas as pd

    from asal.config.layout import figures_dir
    from asal.config.profiles import resolve
    from asal.tools.reproduction import check_reproduction

    cfg = resolve(args.profile)
    figures = Path(args.figures) if args.figures else figures_dir(cfg)
    table, ok = check_reproduction(figures, args.reference, cfg.runs_root, cfg.exp)
    with pd.option_context("display.width", 200, "display.max_rows", None):
        print(table.to_string(index=False))
    if not table.attrs.get("same_pretext_networks", True):
        print("The rebuilt pretext networks differ from the committed ones (other CPU "
              "kernels): the classifier's tolerances allow for that (pretext_seed_spread.csv).")
    bad = int((table.verdict != "ok").sum())
    print(f"{len(table) - bad} of {len(table)} cells reproduced"
          + ("" if ok else f"; {bad} differ beyond their tolerance"))
    return 0 if ok else 1


def _premise(args):
    import pandas as pd

    from asal.io import write_text
    from asal.stages.premise import premise_table

    table = premise_table(args.rankings, args.per_batch)
    with pd.option_context("display.width", 250, "display.max_columns", None):
        print(table.round(3).to_string(index=False))
    if args.out:
        out = Path(args.out)
        source = args.source or str(args.rankings)
        caption = (f"ASAL's premise on the rankings of {source}: defects in ASAL's initial set "
                   f"(the first {args.per_batch} of every batch) against a random set of the "
                   "same size (hypergeometric mean, probability of no defect), and the share "
                   "of defects per batch")
        text = f"# {caption}\n" + table.to_csv(index=False, float_format="%.4f")
        write_text(out, text)
        write_text(out.with_suffix(".md"), f"**{caption}**\n\n"
                   + table.to_markdown(index=False, floatfmt=".3f") + "\n")
        print(f"written to {out} and {out.with_suffix('.md')}")


def _ceiling(args):
    from asal.config.profiles import resolve
    from asal.stages.ceiling import run_ceiling

    cfg = resolve(args.profile, category=args.category, seed=args.seed,
                  pretext_seed=args.pretext_seed, data_root=args.data_root,
                  runs_root=args.runs_root)
    m = run_ceiling(cfg)
    print(f"{cfg.category} ceiling (seed {cfg.seed}, {m['pool_labels']} labels): test AUROC "
          f"{m['auroc']:.3f}, balanced accuracy {m['balanced_accuracy']:.3f}")


def _write_reference(args):
    from asal.tools.reference import write_reference

    written = write_reference()
    print("rewritten: " + (", ".join(written) if written else "nothing (all current)"))


def _waiting_for_labels(args):
    from asal.config.layout import CONFIG_JSON
    from asal.data.labels import read_to_label

    folder = args.run_folder
    if not (folder / CONFIG_JSON).is_file():
        why = "does not exist" if not folder.exists() else "holds no config.json"
        raise AsalError(f"{folder} {why}, so it is not an active-learning run folder; give "
                        "runs/<exp>/<category>/al/<init>/seed<k> of a run of 03.")
    asked = read_to_label(folder)
    if not asked:
        return 0
    print(f"{args.run_folder} waits for {len(asked)} label{'s' * (len(asked) > 1)} (listed in "
          "its to_label.csv): give them in notebooks/05_label.ipynb or labels.csv, then run "
          "the same command again.", file=sys.stderr)
    return 0 if args.in_workflow else 1


def _spread_commands(sub) -> None:
    """The seed-spread experiments and the reproduction check."""
    p = subcommand(sub, "draem-spread", "DRAEM's AUROCs over more seeds, for the tolerances "
                                         "of check-reproduction", _draem_spread)
    p.add_argument("--profile", default="synthetic", help="the experiment's params profile")
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2],
                   help="seeds besides the experiment's own run")
    p.add_argument("--jobs", type=int, default=2, help="runs at once, one thread each")
    p.add_argument("--train-on", nargs="+", choices=["mixed", "normal"],
                   help="which DRAEM runs (default: mixed, and normal where the profile's "
                        "draem_normal asks for it)")

    p = subcommand(sub, "pretext-spread", "the classifier's numbers with pretext networks of "
                                           "other seeds, for the tolerances", _pretext_spread)
    p.add_argument("--profile", default="synthetic", help="the experiment's params profile")
    p.add_argument("--pretext-seeds", type=int, nargs="+", default=[1, 2],
                   help="pretext seeds besides the experiment's own")
    p.add_argument("--jobs", type=int, default=2, help="categories x seeds at once")
    p.add_argument("--scratch", help="keep the scratch runs here (default: a temporary "
                                     "folder)")

    p = subcommand(sub, "check-reproduction", "compare rebuilt tables with the committed "
                                               "ones, cell by cell", _check_reproduction)
    p.add_argument("--profile", default="synthetic", help="the experiment's params profile")
    p.add_argument("--figures", help="the rebuilt tables (default: figures/<exp>/)")
    p.add_argument("--reference", help="a folder with the committed tables (default: "
                                       "the same files at git HEAD)")


def _analysis_commands(sub) -> None:
    """The premise table and the labels stop."""
    p = subcommand(sub, "premise", "defects in ASAL's initial set vs a random one, from a "
                                    "ranking folder alone (labels in the paths)", _premise)
    p.add_argument("rankings", help="a folder of <category>/batch0.txt .. files (the "
                                    "paper's loss_batch/anomaly_scores_draem, or runs/<exp>)")
    p.add_argument("--per-batch", type=int, default=2,
                   help="images ASAL takes from the top of every batch")
    p.add_argument("--out", help="write the table to this CSV (and a .md beside it)")
    p.add_argument("--source", help="the rankings' origin, named in the table's caption "
                                    "(default: the rankings folder)")

    p = subcommand(sub, "waiting-for-labels", "exit 1, saying so, when an active-learning "
                                               "run waits for labels (oracle: file)",
                    _waiting_for_labels)
    p.add_argument("run_folder", type=Path,
                   help="runs/<exp>/<category>/al/<init>/<query>/seed<k>")
    p.add_argument("--in-workflow", action="store_true",
                   help="exit 0 while waiting: the workflow's stop for labels is no failure")

    p = subcommand(sub, "ceiling", "train 03's classifier on every pool label once: the "
                                    "supervised ceiling of a category", _ceiling)
    p.add_argument("--profile", default="synthetic", help="the params profile")
    p.add_argument("--category", required=True, help="the category")
    p.add_argument("--seed", type=int, help="the classifier's seed (default: the profile's)")
    p.add_argument("--pretext-seed", type=int, help="the pretext network's seed (default: the "
                                                    "profile's)")
    p.add_argument("--data-root", help="the data root (default: the profile's)")
    p.add_argument("--runs-root", help="the runs root (default: the profile's)")

    subcommand(sub, "write-reference", "rewrite docs/parameters.md and the notebooks' "
                                        "parameters cells from the schema", _write_reference)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m asal", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    add_data_commands(sub)
    add_model_commands(sub)
    _spread_commands(sub)
    _analysis_commands(sub)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        return args.run(args) or 0
    except AsalError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

"""asal's command line: `asal <command>` (or `python -m asal <command>`); `asal <command>
--help` explains each one's options and defaults."""

from __future__ import annotations

import argparse
import sys
import textwrap
import time
from pathlib import Path

from asal.errors import AsalError
from asal.tools.data_commands import add_data_commands, subcommand
from asal.tools.label_studio_commands import add_label_studio_commands
from asal.tools.model_commands import add_model_commands


def _scorer_spread(args):
    from asal.config.layout import SCORER_SPREAD
    from asal.config.profiles import resolve
    from asal.tools.spread import measure_scorer_spread

    start = time.perf_counter()
    runs = [tuple(r.split(":")) for r in args.runs] if args.runs else None
    frame = measure_scorer_spread(resolve(args.profile), args.seeds, args.jobs, runs)
    summary = frame.groupby(["category", "scorer", "train_on"]).test_image_auroc \
        .agg(["mean", "std"])
    print(summary.round(3).to_string())
    print(f"{SCORER_SPREAD} written ({len(frame)} runs) in {time.perf_counter() - start:.0f} s")


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
    from asal.tools.tolerance import TOLERANCE_CEILING
    from asal.tools.reproduction import check_reproduction

    cfg = resolve(args.profile)
    figures = Path(args.figures) if args.figures else figures_dir(cfg)
    table, ok = check_reproduction(figures, args.reference, cfg.runs_root, cfg.exp)
    with pd.option_context("display.width", 200, "display.max_rows", None):
        print(table.to_string(index=False))
    if not table.attrs.get("same_pretext_networks", True):
        print("The rebuilt pretext networks differ from the committed ones (other CPU "
              "kernels): the classifier's tolerances allow for that (pretext_seed_spread.csv).")
    bad = int((table.verdict == "DIFFERS").sum())
    wide = int((table.verdict == "TOO WIDE").sum())
    print(f"{len(table) - bad - wide} of {len(table)} cells reproduced"
          + (f"; {bad} differ beyond their tolerance" if bad else "")
          + (f"; {wide} cannot be judged: their seed spread gives a tolerance above "
             f"{TOLERANCE_CEILING:.2f}, too large for a rebuild to say anything" if wide
             else ""))
    return 0 if ok else 1


def _premise(args):
    import pandas as pd

    from asal.io import write_text
    from asal.report import captioned_markdown
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
        write_text(out.with_suffix(".md"), captioned_markdown(table, caption))
        print(f"written to {out} and {out.with_suffix('.md')}")


def _ceiling(args):
    from asal.config.profiles import resolve
    from asal.stages.ceiling import run_ceiling

    cfg = resolve(args.profile, category=args.category, seed=args.seed,
                  pretext_seed=args.pretext_seed, scorer_seed=args.scorer_seed,
                  data_root=args.data_root,
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
                        "runs/<exp>/<category>/al/<init>/<query>/seed<k> of a run of 03.")
    asked = read_to_label(folder)
    if not asked:
        return 0
    print(f"{args.run_folder} waits for {len(asked)} label{'s' * (len(asked) > 1)} (listed in "
          "its to_label.csv): give them in notebooks/05_label.ipynb or labels.csv, then run "
          "the same command again.", file=sys.stderr)
    return 0 if args.in_workflow else 1


def _spread_commands(sub) -> None:
    """The seed-spread experiments and the reproduction check."""
    p = subcommand(sub, "scorer-spread", "the scorers' AUROCs over more seeds, for the "
                                          "tolerances of check-reproduction", _scorer_spread)
    p.add_argument("--profile", default="synthetic", help="the experiment's params profile")
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2],
                   help="seeds besides the experiment's own runs")
    p.add_argument("--jobs", type=int, default=2, help="runs at once, one thread each")
    p.add_argument("--runs", nargs="+", metavar="SCORER:TRAIN_ON",
                   help="which scorer runs, such as draem:normal (default: the profile's "
                        "scorer on the pool, and draem:normal where draem_normal asks for it)")

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
    p.add_argument("--scorer-seed", type=int, help="the seed of the scorer whose evidence "
                                                   "the head reads (default: the profile's)")
    p.add_argument("--data-root", help="the data root (default: the profile's)")
    p.add_argument("--runs-root", help="the runs root (default: the profile's)")


def _labeler_picture(args):
    from asal.tools.labeler_picture import PICTURE, render_labeler

    print(f"written to {render_labeler(args.out or PICTURE)}")


def _maintainer_commands(sub) -> None:
    """What rebuilds the project's own documents and pictures."""
    subcommand(sub, "write-reference", "rewrite docs/parameters.md and the notebooks' "
                                        "parameters cells from the schema, and README's "
                                        "findings from figures/", _write_reference)
    p = subcommand(sub, "render-labeler", "draw 05's labeler on a real run of the built-in "
                                           "data, for the documentation", _labeler_picture)
    p.add_argument("--out", type=Path, help="the PNG to write (default: "
                                            "figures/labeling/labeler.png)")


# How `asal --help` lists the commands: a person's, then the maintainers'.
COMMAND_GROUPS = {
    "commands": ("make-synthetic", "prepare-mvtec", "prepare-elpv", "predict", "export",
                 "waiting-for-labels", "label-studio", "premise", "check-reproduction"),
    "commands that rebuild the project's own experiments and documents": (
        "ceiling", "scorer-spread", "pretext-spread", "write-reference", "render-labeler"),
}


def _command_list(sub) -> str:
    """The epilog of `asal --help`: every command with its line, by group."""
    lines = []
    for title, names in COMMAND_GROUPS.items():
        lines.append(f"{title}:")
        lines += [textwrap.fill(sub.choices[name].description, width=88,
                                initial_indent=f"  {name:<20}", subsequent_indent=" " * 22,
                                break_on_hyphens=False)
                  for name in names]
        lines.append("")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    from asal import __version__

    parser = argparse.ArgumentParser(prog="asal", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"asal {__version__}",
                        help="print asal's version and exit")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                help="one of the commands below")
    add_data_commands(sub)
    add_model_commands(sub)
    add_label_studio_commands(sub)
    _spread_commands(sub)
    _analysis_commands(sub)
    _maintainer_commands(sub)
    listed = [n for names in COMMAND_GROUPS.values() for n in names]
    assert sorted(listed) == sorted(sub.choices), "every command belongs to one group"
    parser.epilog = _command_list(sub)
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

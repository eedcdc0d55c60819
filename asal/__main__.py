"""Command line: `python -m asal prepare-mvtec | make-synthetic | draem-spread |
pretext-spread | check-reproduction | premise | waiting-for-labels ...`."""

from __future__ import annotations

import argparse
import io
import sys
import time
from pathlib import Path

from asal.errors import AsalError


def _prepare_mvtec(args):
    from asal.data.mvtec import prepare_mvtec

    result = prepare_mvtec(args.src, args.dest, args.categories, args.seed,
                           args.test_fraction, args.force)
    for cat, frame in result.items():
        counts = frame.groupby(["split", "label"]).size().to_dict()
        print(f"{cat}: " + ", ".join(f"{s}/{'anomaly' if l else 'good'} {n}"
                                     for (s, l), n in sorted(counts.items())))


def _make_synthetic(args):
    from asal.data.synthetic import CATEGORIES, contact_sheet, make_synthetic
    from asal.io import write_bytes

    start = time.perf_counter()
    result = make_synthetic(args.dest, args.categories or CATEGORIES, args.n_images,
                            args.anomaly_ratio, args.size, args.seed)
    for cat, frame in result.items():
        print(f"{cat}: {len(frame)} images, {int(frame.label.sum())} anomalies "
              f"-> {Path(args.dest) / cat}")
    print(f"made in {time.perf_counter() - start:.1f} s")
    sheet = Path(args.dest) / "samples.png" if args.sheet is None else args.sheet
    if sheet:
        fig = contact_sheet(args.dest, list(result))
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=110)
        write_bytes(sheet, buffer.getvalue())
        print(f"contact sheet: {sheet}")


def _draem_spread(args):
    from asal.config.layout import DRAEM_SPREAD
    from asal.tools.spread import measure_draem_spread

    start = time.perf_counter()
    frame = measure_draem_spread(args.profile, args.seeds, args.jobs)
    summary = frame.groupby(["category", "train_on"]).test_image_auroc.agg(["mean", "std"])
    print(summary.round(3).to_string())
    print(f"{DRAEM_SPREAD} written ({len(frame)} runs) in {time.perf_counter() - start:.0f} s")


def _pretext_spread(args):
    from asal.config.layout import PRETEXT_SPREAD
    from asal.tools.spread import measure_pretext_spread

    start = time.perf_counter()
    frame = measure_pretext_spread(args.profile, args.pretext_seeds, args.jobs, args.scratch)
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
    return 1


class _Defaults(argparse.ArgumentDefaultsHelpFormatter):
    """Shows an option's default, unless its help already says what it is."""

    def _get_help_string(self, action):
        if action.default is None or "default" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


def _subcommand(sub, name: str, text: str, run) -> argparse.ArgumentParser:
    """A subcommand whose --help shows every option's default."""
    p = sub.add_parser(name, help=text, description=text, formatter_class=_Defaults)
    p.set_defaults(run=run)
    return p


def _data_commands(sub) -> None:
    """Making data: MVTec AD prepared, the synthetic categories made."""
    p = _subcommand(sub, "prepare-mvtec", "merge and split MVTec AD into the ASAL layout",
                    _prepare_mvtec)
    p.add_argument("src", help="the unpacked MVTec AD folder (holds bottle/, cable/, ...)")
    p.add_argument("--dest", default="data", help="the data root to write the categories to")
    p.add_argument("--categories", nargs="+", metavar="NAME",
                   help="categories to prepare (default: all 15)")
    p.add_argument("--seed", type=int, default=0, help="seed of the stratified split")
    p.add_argument("--test-fraction", type=float, default=0.2,
                   help="share of every category held out as the test split")
    p.add_argument("--force", action="store_true", help="replace a different earlier split")

    p = _subcommand(sub, "make-synthetic", "write the built-in synthetic defect dataset",
                    _make_synthetic)
    p.add_argument("--dest", default="data", help="the data root to write the categories to")
    p.add_argument("--categories", nargs="+", metavar="NAME",
                   help="categories to make (default: all three)")
    p.add_argument("--n-images", type=int, default=200, help="images per category")
    p.add_argument("--anomaly-ratio", type=float, default=0.2,
                   help="share of defective images")
    p.add_argument("--size", type=int, default=128, help="image side in pixels")
    p.add_argument("--seed", type=int, default=0, help="the same seed gives the same files")
    p.add_argument("--sheet", help="where to save a contact sheet of samples, '' for none "
                                   "(default: DEST/samples.png)")


def _spread_commands(sub) -> None:
    """The seed-spread experiments and the reproduction check."""
    p = _subcommand(sub, "draem-spread", "DRAEM's AUROCs over more seeds, for the tolerances "
                                         "of check-reproduction", _draem_spread)
    p.add_argument("--profile", default="synthetic", help="the experiment's params profile")
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2],
                   help="seeds besides the experiment's own run")
    p.add_argument("--jobs", type=int, default=2, help="runs at once, one thread each")

    p = _subcommand(sub, "pretext-spread", "the classifier's numbers with pretext networks of "
                                           "other seeds, for the tolerances", _pretext_spread)
    p.add_argument("--profile", default="synthetic", help="the experiment's params profile")
    p.add_argument("--pretext-seeds", type=int, nargs="+", default=[1, 2],
                   help="pretext seeds besides the experiment's own")
    p.add_argument("--jobs", type=int, default=2, help="categories x seeds at once")
    p.add_argument("--scratch", help="keep the scratch runs here (default: a temporary "
                                     "folder)")

    p = _subcommand(sub, "check-reproduction", "compare rebuilt tables with the committed "
                                               "ones, cell by cell", _check_reproduction)
    p.add_argument("--profile", default="synthetic", help="the experiment's params profile")
    p.add_argument("--figures", help="the rebuilt tables (default: figures/<exp>/)")
    p.add_argument("--reference", help="a folder with the committed tables (default: "
                                       "the same files at git HEAD)")


def _analysis_commands(sub) -> None:
    """The premise table and the labels stop."""
    p = _subcommand(sub, "premise", "defects in ASAL's initial set vs a random one, from a "
                                    "ranking folder alone (labels in the paths)", _premise)
    p.add_argument("rankings", help="a folder of <category>/batch0.txt .. files (the "
                                    "paper's loss_batch/anomaly_scores_draem, or runs/<exp>)")
    p.add_argument("--per-batch", type=int, default=2,
                   help="images ASAL takes from the top of every batch")
    p.add_argument("--out", help="write the table to this CSV (and a .md beside it)")
    p.add_argument("--source", help="the rankings' origin, named in the table's caption "
                                    "(default: the rankings folder)")

    p = _subcommand(sub, "waiting-for-labels", "exit 1, saying so, when an active-learning "
                                               "run waits for labels (oracle: file)",
                    _waiting_for_labels)
    p.add_argument("run_folder", type=Path, help="runs/<exp>/<category>/al/<init>/seed<k>")

    _subcommand(sub, "write-reference", "rewrite docs/parameters.md and the notebooks' "
                                        "parameters cells from the schema", _write_reference)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m asal", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    _data_commands(sub)
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

"""The command line's data commands: prepare MVTec AD or ELPV, make the synthetic data."""

from __future__ import annotations

import argparse
import io
import time
from pathlib import Path


class _Defaults(argparse.ArgumentDefaultsHelpFormatter):
    """Shows an option's default, unless its help already says what it is."""

    def _get_help_string(self, action):
        if action.default is None or "default" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


def subcommand(sub, name: str, text: str, run) -> argparse.ArgumentParser:
    """A subcommand whose --help shows every option's default."""
    # no help=: `asal --help` lists the commands itself, in groups (asal/__main__.py)
    p = sub.add_parser(name, description=text, formatter_class=_Defaults)
    p.set_defaults(run=run)
    return p


def _say_prepared(result: dict, dest) -> None:
    """One line per prepared category: its images per split and label, and its folder."""
    for cat, frame in result.items():
        counts = frame.groupby(["split", "label"]).size().to_dict()
        print(f"{cat}: " + ", ".join(f"{split}/{'anomaly' if label else 'good'} {n}"
                                     for (split, label), n in sorted(counts.items()))
              + f" -> {Path(dest) / cat}")


def _prepare_mvtec(args):
    from asal.data.mvtec import prepare_mvtec

    _say_prepared(prepare_mvtec(args.src, args.dest, args.categories, args.seed,
                                args.test_fraction, args.force), args.dest)


def _prepare_elpv(args):
    from asal.data.elpv import prepare_elpv

    _say_prepared(prepare_elpv(args.dest, args.categories, args.defect_ratio, args.limit,
                               args.seed, args.test_fraction, args.force), args.dest)


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


def _add_split_options(p, seed_help: str) -> None:
    """The options of a prepared category's stratified split, shared by the datasets."""
    p.add_argument("--seed", type=int, default=0, help=seed_help)
    p.add_argument("--test-fraction", type=float, default=0.2,
                   help="share of every category held out as the test split")
    p.add_argument("--force", action="store_true", help="replace a different earlier split")


def add_data_commands(sub) -> None:
    """Making data: MVTec AD prepared, the synthetic categories made."""
    p = subcommand(sub, "prepare-mvtec", "merge and split MVTec AD into the ASAL layout",
                    _prepare_mvtec)
    p.add_argument("src", help="the unpacked MVTec AD folder (holds bottle/, cable/, ...)")
    p.add_argument("--dest", default="data", help="the data root to write the categories to")
    p.add_argument("--categories", nargs="+", metavar="NAME",
                   help="categories to prepare (default: all 15)")
    _add_split_options(p, "seed of the stratified split")

    p = subcommand(sub, "prepare-elpv", "write ELPV's solar-cell categories (the installed "
                                         "elpv-dataset package) in the ASAL layout",
                    _prepare_elpv)
    p.add_argument("--dest", default="data", help="the data root to write the categories to")
    p.add_argument("--categories", nargs="+", metavar="NAME",
                   default=["elpv_mono", "elpv_poly"], help="elpv_mono, elpv_poly or both")
    p.add_argument("--defect-ratio", type=float, metavar="R",
                   help="keep every good cell and a seeded sample of the defective ones, so "
                        "that defects are this share (the category is named <name>_<R>pct); "
                        "default: the natural share")
    p.add_argument("--limit", type=int, metavar="N",
                   help="keep a seeded, stratified sample of N images per category (default: "
                        "all)")
    _add_split_options(p, "seed of the subsamples and the split")

    p = subcommand(sub, "make-synthetic", "write the built-in synthetic defect dataset",
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

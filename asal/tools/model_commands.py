"""The command line's model commands: score new parts with a finished run, export it."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from asal.tools.data_commands import subcommand


def _predict(args):
    from asal.io import csv_text, write_csv
    from asal.stages.predict import predict

    start = time.perf_counter()
    frame = predict(args.run_dir, args.images)
    seconds = time.perf_counter() - start
    if args.out:
        write_csv(args.out, frame)
    else:
        sys.stdout.write(csv_text(frame))
    defects = int((frame.predicted == "defect").sum())
    print(f"{len(frame)} images scored in {seconds:.1f} s: {defects} predicted defect at "
          f"p_defect >= {frame.attrs['threshold']:.4f} ({frame.attrs['threshold_rule']})"
          + (f"; written to {args.out}" if args.out else ""), file=sys.stderr)


def _export(args):
    from asal.stages.predict import export_onnx

    out = export_onnx(args.run_dir, args.out or Path(args.run_dir) / "model.onnx")
    print(f"written to {out} (input uint8 images, output p_defect; its metadata holds the "
          "image size, the normalisation and the threshold)")


def add_model_commands(sub) -> None:
    p = subcommand(sub, "predict", "score images with a finished run's classifier: a CSV of "
                                    "path, p_defect, predicted, anomaly_score", _predict)
    p.add_argument("run_dir", type=Path, help="a finished run's folder: runs/<exp>/<category>/"
                                              "al/<init>/<query>/seed<k> (or a ceiling's)")
    p.add_argument("images", nargs="+", help="image files, or folders searched for them")
    p.add_argument("--out", help="write the CSV here (default: standard output)")

    p = subcommand(sub, "export", "write a finished run's classifier as ONNX (needs "
                                   "pip install -e '.[export]')", _export)
    p.add_argument("run_dir", type=Path, help="a finished run's folder")
    p.add_argument("--out", help="the ONNX file (default: <run_dir>/model.onnx)")

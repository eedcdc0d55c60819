"""The command line's model commands: score new parts with a finished run, export it."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from asal.errors import AsalError
from asal.tools.data_commands import subcommand

SKIPPED = 3          # predict's exit status when unreadable files were skipped


def _predict(args):
    from asal.io import csv_text, write_csv
    from asal.stages.predict import predict

    if args.out and Path(args.out).is_dir():      # said before the images are scored
        raise AsalError(f"--out {args.out} is a folder; give the name of the CSV to write, "
                        f"such as {Path(args.out) / 'predictions.csv'}.")
    start = time.perf_counter()
    frame = predict(args.run_dir, args.images, args.skip_unreadable)
    seconds = time.perf_counter() - start
    if args.out:
        write_csv(args.out, frame)
    else:
        sys.stdout.write(csv_text(frame))
    defects = int((frame.predicted == "defect").sum())
    print(f"{len(frame)} images scored in {seconds:.1f} s: {defects} predicted defect at "
          f"p_defect >= {frame.attrs['threshold']:.4f} ({frame.attrs['threshold_rule']})"
          + (f"; written to {args.out}" if args.out else ""), file=sys.stderr)
    skipped = frame.attrs["skipped"]
    if skipped:
        print(f"{len(skipped)} file{'s' * (len(skipped) > 1)} could not be read and "
              f"{'were' if len(skipped) > 1 else 'was'} skipped (exit status {SKIPPED}):",
              file=sys.stderr)
        for path, why in skipped:
            print(f"  {path}: {why}", file=sys.stderr)
        return SKIPPED
    return 0


def _export(args):
    from asal.stages.predict import export_onnx

    out = export_onnx(args.run_dir, args.out or Path(args.run_dir) / "model.onnx")
    print(f"written to {out} (input uint8 images, output p_defect; its metadata holds the "
          "image size, the normalisation and the threshold)")
    if "anomaly_scores" in {i.name for i in _onnx_inputs(out)}:
        print("Its head reads the scorer's evidence, and the scorer is not in the graph: feed "
              "each image's anomaly score as the second input, anomaly_scores (the "
              "anomaly_score column of asal predict, which runs the scorer).")


def _onnx_inputs(path):
    import onnx

    return onnx.load(str(path), load_external_data=False).graph.input


def add_model_commands(sub) -> None:
    p = subcommand(sub, "predict", "score images with a finished run's classifier: a CSV of "
                                    "path, p_defect, predicted, anomaly_score", _predict)
    p.epilog = ("Columns: p_defect, the classifier's probability that the image shows a "
                "defect; predicted, good or defect at the threshold the run chose on its own "
                "labels (model.pt's threshold and threshold_rule; never a test split); "
                "anomaly_score, the score of the scorer that ranked the pool, where its "
                "model is on disk (empty otherwise).")
    p.add_argument("run_dir", type=Path, help="a finished run's folder: runs/<exp>/<category>/"
                                              "al/<init>/<query>/seed<k> (or a ceiling's)")
    p.add_argument("images", nargs="+", help="image files, or folders searched for them")
    p.add_argument("--out", help="write the CSV here (default: standard output)")
    p.add_argument("--skip-unreadable", action="store_true",
                   help="score the images that can be read, list the others and exit with "
                        f"status {SKIPPED} (default: the first unreadable file stops it)")

    p = subcommand(sub, "export", "write a finished run's classifier as ONNX (needs "
                                   "pip install -e '.[export]')", _export)
    p.add_argument("run_dir", type=Path, help="a finished run's folder")
    p.add_argument("--out", help="the ONNX file (default: <run_dir>/model.onnx)")

"""`asal predict` on the CPU: milliseconds per image, decoding, the classifier and DRAEM's
anomaly score included.

    python benchmarks/bench_predict.py [--images 400] [--image-size 64]

It makes a finished run of the synthetic profile's recipe in a scratch folder (DRAEM for
one epoch, the classifier for 2 cycles; the training is not what is timed), then scores
the test images, copied until there are --images of them, with one thread, as the
profile's jobs run.
"""

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import torch

from asal.config.layout import al_dir
from asal.config.profiles import resolve
from asal.data.synthetic import make_synthetic
from asal.runtime import device_name
from asal.stages.active_learning.loop import run_active_learning
from asal.stages.batches import make_batches
from asal.stages.predict import predict
from asal.stages.scores import run_scores


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=400)
    parser.add_argument("--image-size", type=int, default=64)
    args = parser.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory(prefix="asal-bench-predict-") as tmp:
        root = Path(tmp)
        make_synthetic(root / "data", ["synth_washer"])
        cfg = resolve(category="synth_washer", data_root=str(root / "data"),
                      runs_root=str(root / "runs"), image_size=args.image_size, cycles=2,
                      draem_epochs=1, pretrained="none", device="cpu")
        run_scores(cfg, progress=False)
        make_batches(cfg)
        run_active_learning(cfg, progress=False)
        images = [p for p in sorted((root / "data" / "synth_washer" / "test").rglob("*.png"))
                  if "ground_truth" not in p.parts]             # parts, not their masks
        parts = root / "parts"
        parts.mkdir()
        for i in range(args.images):
            shutil.copyfile(images[i % len(images)], parts / f"part_{i:05d}.png")
        predict(al_dir(cfg), [parts])                      # warm: imports, first kernels
        start = time.perf_counter()
        frame = predict(al_dir(cfg), [parts])
        seconds = time.perf_counter() - start
    print(f"device: {device_name(torch.device('cpu'))}, 1 thread, {args.image_size} px")
    print(f"{len(frame)} images in {seconds:.2f} s: {1000 * seconds / len(frame):.1f} ms per "
          "image (decode, classifier, DRAEM's anomaly score)")


if __name__ == "__main__":
    main()

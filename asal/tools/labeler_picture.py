"""The picture of 05's labeler in the documentation, drawn from a real run:

    python -m asal render-labeler [--out figures/labeling/labeler.png]

A folder of unlabeled images is made from the built-in synth_washer pool
(asal/data/unlabeled_demo.py), params/own.yaml scores and ranks it and runs 03 until it
waits for the labels of its initial set; the first `answered` of those are labeled from
the known labels, as a person would, and the labeler as 05 shows it then (its static
HTML, asal/stages/labeler.py) is photographed by a headless Chromium.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from asal.config.profiles import resolve
from asal.data.labels import set_labels
from asal.data.unlabeled_demo import unlabeled_copy
from asal.errors import AsalError
from asal.io import write_bytes
from asal.project import PROJECT_ROOT
from asal.stages.active_learning.loop import run_active_learning
from asal.stages.batches import make_batches
from asal.stages.labeler import DISPLAY_PX, LabelSession, static_html
from asal.stages.scores import run_scores

PICTURE = PROJECT_ROOT / "figures" / "labeling" / "labeler.png"
WINDOW = (2 * DISPLAY_PX + 60, DISPLAY_PX + 150)      # the labeler and a margin, in px


def waiting_demo_run(scratch: Path):
    """A run of params/own.yaml on the demo folder (synth_washer's pool as unlabeled
    images), stopped for its initial set: its parameters and every pool key's true label
    (0 good, 1 defect), for the pictures and benchmarks that answer as a person would."""
    truth = unlabeled_copy(scratch / "data", "synth_washer", "demo")
    cfg = resolve("own", category="demo", data_root=str(scratch / "data"),
                  runs_root=str(scratch / "runs"), figures_root=str(scratch / "figures"))
    run_scores(cfg, progress=False)
    make_batches(cfg)
    run_active_learning(cfg, progress=False)
    return cfg, truth


def waiting_session(scratch: Path, answered: int) -> LabelSession:
    """waiting_demo_run's run with the first `answered` images labeled."""
    cfg, truth = waiting_demo_run(scratch)
    session = LabelSession(cfg)
    for key in session.items[:answered]:
        set_labels(session.labels_file, {key: truth[key]}, session.pool_keys, cfg.data_root)
    return LabelSession(cfg)


def screenshot(page: Path, out: Path, window: tuple[int, int]) -> bytes:
    """A headless Chromium's PNG of a local HTML page."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        raise AsalError("render-labeler photographs the labeler with a headless Chromium, "
                        "and none is installed; install it (Debian: apt-get install "
                        "chromium).")
    subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu",
                    "--hide-scrollbars", f"--window-size={window[0]},{window[1]}",
                    f"--screenshot={out}", page.as_uri()],
                   check=True, capture_output=True, timeout=120)
    return out.read_bytes()


def render_labeler(out: Path = PICTURE, answered: int = 3) -> Path:
    with tempfile.TemporaryDirectory(prefix="asal-labeler-") as tmp:
        scratch = Path(tmp)
        session = waiting_session(scratch, answered)
        page = scratch / "labeler.html"
        page.write_text("<!doctype html><html><body style='margin:8px;background:#fff'>"
                        + static_html(session, DISPLAY_PX) + "</body></html>")
        write_bytes(out, screenshot(page, scratch / "labeler.png", WINDOW))
    return Path(out)

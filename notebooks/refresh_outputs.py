"""Re-execute the committed notebooks the way the tests run them, so that their stored
outputs are what nbval expects:

    python notebooks/refresh_outputs.py [01_scores 03_active_learning ...]

Each notebook runs in a fresh kernel whose data, runs and figures roots are a scratch
folder (ASAL_DATA, ASAL_RUNS, ASAL_FIGURES), on a fresh copy of the committed runs/, as
under `pytest --nbval` (see conftest.py). Commit a rebuilt experiment before refreshing:
the notebooks read git's committed runs, not the working tree.
"""

import os
import sys
import tempfile
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from asal.notebook_engine import QuietKernelManager
from asal.tools.committed import copy_committed_runs

HERE = Path(__file__).resolve().parent
NOTEBOOKS = ("00_pretext", "01_scores", "02_split_batches", "03_active_learning", "04_results",
             "05_label")


def refresh(name: str, scratch: Path) -> None:
    copy_committed_runs(scratch / "runs")
    path = HERE / f"{name}.ipynb"
    nb = nbformat.read(path, as_version=4)
    # no widget state: 05's labeler would store 24 KB of it, new on every refresh
    NotebookClient(nb, kernel_name="python3", timeout=1800, record_timing=False,
                   store_widget_state=False, kernel_manager_class=QuietKernelManager,
                   resources={"metadata": {"path": str(HERE)}}).execute()
    nbformat.write(nb, path)
    print(f"{name}: refreshed")


def main(names):
    with tempfile.TemporaryDirectory(prefix="asal-refresh-") as tmp:
        scratch = Path(tmp)
        for root in ("data", "runs", "figures"):
            os.environ[f"ASAL_{root.upper()}"] = str(scratch / root)
        for name in names or NOTEBOOKS:
            refresh(name.removesuffix(".ipynb"), scratch)


if __name__ == "__main__":
    main(sys.argv[1:])

"""Test-session setup shared by the unit tests (tests/) and the notebooks (nbval).

The suite never writes into the checkout. Every data, runs and figures root points at a
scratch folder (ASAL_DATA, ASAL_RUNS, ASAL_FIGURES; see asal/config.py), and each notebook
starts from a fresh copy of the committed experiment there: 02 reads the committed scores,
03 the committed batches, 04 the committed runs, and what they write is thrown away.
tests/test_checkout.py, run last, checks that `git status` is what it was.
"""

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from asal.tools.committed import copy_committed_runs

ROOT = Path(__file__).resolve().parent
ROOT_ENV = ("ASAL_DATA", "ASAL_RUNS", "ASAL_FIGURES")


def git(*args) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)


def checkout_state() -> str | None:
    """`git status` of the checkout, with ignored files under the result folders (a model.pt
    written into runs/ is ignored by git, and must not appear either); None outside git."""
    status = git("status", "--porcelain", "--untracked-files=all")
    if status.returncode:
        return None
    ignored = git("status", "--porcelain", "--ignored", "--untracked-files=all", "--",
                  "runs", "figures", "data", "notebooks")
    return status.stdout + ignored.stdout


def pytest_configure(config):
    config.checkout_before = checkout_state()
    # ASAL_TEST_SCRATCH (CI) keeps the scratch folder for a second session: there the
    # notebooks reuse the data and the pretext networks the first one made
    kept = os.environ.get("ASAL_TEST_SCRATCH")
    scratch = Path(kept) if kept else Path(tempfile.mkdtemp(prefix="asal-tests-"))
    scratch.mkdir(parents=True, exist_ok=True)
    config.asal_scratch = None if kept else scratch
    # set before any notebook kernel starts: kernels inherit this environment
    for name in ROOT_ENV:
        os.environ[name] = str(scratch / name[5:].lower())


def pytest_unconfigure(config):
    scratch = getattr(config, "asal_scratch", None)
    if scratch is not None:
        shutil.rmtree(scratch, ignore_errors=True)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """Before a notebook's first cell: a fresh copy of the committed runs."""
    if item.path.suffix != ".ipynb" or getattr(item.config, "asal_notebook", None) == item.path:
        return
    item.config.asal_notebook = item.path
    copy_committed_runs(Path(os.environ["ASAL_RUNS"]))


def pytest_collection_modifyitems(items):
    """Tests marked `last` run after everything else (the notebooks included)."""
    items.sort(key=lambda item: item.get_closest_marker("last") is not None)


@pytest.fixture
def checkout_states(request) -> tuple[str | None, str | None]:
    """The checkout's state when the session started, and now."""
    return request.config.checkout_before, checkout_state()

"""The workflow on a SLURM cluster: the one-node cluster of benchmarks/slurm/start.sh.

These tests run where a SLURM answers and snakemake-executor-plugin-slurm is installed
(the `.[cluster]` extra); elsewhere they are skipped with the reason. CI starts the
cluster and runs them in a session of their own with ASAL_SLURM=required, so there a
missing cluster fails them, beside README's test command, which skips them
(ASAL_SLURM=elsewhere).

They are the cut-down form that fits CI: the jobs upstream of one active-learning run come
from the --cores 2 run of the tiny profile (the `tiny_workflow` fixture), so SLURM runs two
jobs (03 of ASAL, then 04). benchmarks/slurm/bench_slurm.py runs the whole profile
through SLURM and times it.
"""

import importlib.util
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from asal.tools.slurm_jobs import cancel_between_cycles, slurm_job, submitted
from asal.tools.tiny_workflow import (SLURM, SLURM_WORKFLOW_PROFILE, TINY_CONFIG, snakemake,
                                      tables)

pytestmark = pytest.mark.slurm
AL_ASAL = Path("synth_washer", "al", "asal", "least_confidence", "seed0")


@pytest.fixture(scope="module")
def slurm():
    """A SLURM that answers, and the plugin; else the test is skipped (failed in CI)."""
    reason = None
    if os.environ.get("ASAL_SLURM") == "elsewhere":
        pytest.skip("ASAL_SLURM=elsewhere: another session runs the SLURM tests (.ci/run)")
    if importlib.util.find_spec("snakemake_executor_plugin_slurm") is None:
        reason = 'snakemake-executor-plugin-slurm is not installed: pip install -e ".[cluster]"'
    elif shutil.which("sinfo") is None or "up" not in subprocess.run(
            ["sinfo", "-h", "-o", "%a"], capture_output=True, text=True).stdout:
        reason = "no SLURM answers here: start one with sudo benchmarks/slurm/start.sh"
    if reason and os.environ.get("ASAL_SLURM") == "required":
        pytest.fail(reason)
    if reason:
        pytest.skip(reason)


def from_local(local: Path, dest: Path, name: str = "tiny", runs: tuple = (AL_ASAL,)) -> Path:
    """A copy of a local workflow's folder without `runs` and their notebooks, and without
    the tables: what SLURM must make again. Its profile, pointing at the copy."""
    shutil.copytree(local, dest, dirs_exist_ok=True, ignore=shutil.ignore_patterns(
        ".snakemake", ".workflow.json", "snakemake.log"))
    exp = dest / "runs" / name
    for run in runs:
        shutil.rmtree(exp / run)
        for notebook in (exp / "notebooks" / "03_active_learning").glob(
                f"{run.parts[0]}_{run.parts[2]}_{run.parts[3]}_{run.parts[4]}.ipynb"):
            notebook.unlink()
    shutil.rmtree(dest / "figures" / name, ignore_errors=True)
    profile = dest / f"{name}.yaml"
    profile.write_text(profile.read_text().replace(str(local), str(dest)))
    return profile


def test_a_cancelled_job_resumes_and_the_tables_equal_a_local_run(slurm, tiny_workflow,
                                                                  tmp_path):
    profile = from_local(tiny_workflow, tmp_path)
    args = (*SLURM, "--configfile", str(profile), *TINY_CONFIG)
    head = snakemake(*args, cwd=tmp_path, wait=False)
    # a second workflow over the same runs folder, from a folder of its own, stops at once
    holder, other = tmp_path / "runs" / "tiny" / ".workflow.json", tmp_path / "other"
    while not holder.exists() and head.poll() is None:
        time.sleep(0.1)
    other.mkdir()
    second = snakemake(*args, cwd=other, wait=False)
    job = cancel_between_cycles(tmp_path / "runs" / "tiny" / AL_ASAL, 10,
                                "asal_least_confidence", head)
    assert head.wait(timeout=300) != 0 and second.wait(timeout=300) != 0
    first = (tmp_path / "snakemake.log").read_text()
    assert f"SLURM-job '{job}' failed, SLURM status is: 'CANCELLED'" in first
    assert "Another workflow is running over" in (other / "snakemake.log").read_text()
    assert not submitted((other / "snakemake.log").read_text())
    # the re-run continues the cancelled run from its checkpoint, to the local tables
    again = snakemake(*args, cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    notebook = (tmp_path / "runs" / "tiny" / "notebooks" / "03_active_learning"
                / "synth_washer_asal_least_confidence_seed0.ipynb").read_text()
    assert "continues from its checkpoint" in notebook
    assert tables(tmp_path / "figures" / "tiny") == tables(tiny_workflow / "figures" / "tiny")
    # every job ran on SLURM (but the target `all`); the GPU job asked for one GPU
    jobs = submitted(first + again.stderr)
    assert sorted(jobs.values()) == ["active_learning", "active_learning", "results"]
    requests = {rule: slurm_job(i).get("TresPerJob", "") for i, rule in jobs.items()}
    assert requests == {"active_learning": "gres:gpu:1", "results": ""}


def test_the_labels_stop_is_said_once_and_not_retried(slurm, own_waiting, tmp_path):
    waiting, _ = own_waiting
    profile = from_local(waiting, tmp_path, "tiny_own",
                         runs=(Path("own", "al", "asal", "least_confidence", "seed0"),))
    # with retries, a job that failed would be submitted again: this one ended well
    out = snakemake(*SLURM, "--retries", "2", "--configfile", str(profile), cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stderr.count("waits for 10 labels (listed in its to_label.csv)") == 1
    assert list(submitted(out.stderr).values()) == ["active_learning"]
    assert "Error" not in out.stderr and "Trying to restart" not in out.stderr


def test_a_partition_slurm_lacks_fails_with_slurms_message(slurm, tiny_workflow, tmp_path):
    profile = from_local(tiny_workflow, tmp_path)
    workflow_profile = tmp_path / "site_workflow_profile"
    workflow_profile.mkdir()
    (workflow_profile / "config.yaml").write_text(
        (SLURM_WORKFLOW_PROFILE / "config.yaml").read_text()
        + "default-resources:\n  slurm_partition: nosuch\n")
    args = [*SLURM, "--configfile", str(profile), *TINY_CONFIG]
    args[1] = str(workflow_profile)
    out = snakemake(*args, cwd=tmp_path)
    assert out.returncode != 0
    assert "sbatch: error: Batch job submission failed: Invalid partition name" in out.stderr

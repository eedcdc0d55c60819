"""What SLURM and snakemake-executor-plugin-slurm say of a workflow's jobs; cancelling one.

The SLURM tests and benchmarks/slurm/bench_slurm.py read a head's log through these: which
SLURM job ran which rule, what SLURM holds of it (finished jobs stay listed for MinJobAge),
and `scancel` of an active-learning run's job between two of its cycles.
"""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

import pandas as pd

from asal.config.layout import METRICS_CYCLE

SUBMITTED = re.compile(r"submitted with SLURM jobid (\d+) \(log: \S*/slurm_logs/rule_(\w+)")


def submitted(log: str) -> dict[str, str]:
    """The SLURM job of each Snakemake job the plugin submitted: {SLURM job id: rule}."""
    return dict(SUBMITTED.findall(log))


def slurm_job(job_id: str) -> dict[str, str]:
    """`scontrol show job` of one job, as {field: value} (TresPerJob, RunTime, Comment...)."""
    out = subprocess.run(["scontrol", "show", "job", "-o", job_id], capture_output=True,
                         text=True).stdout
    return dict(field.split("=", 1) for field in out.split() if "=" in field)


def running_job(comment_part: str) -> str | None:
    """The running SLURM job whose comment (the plugin's rule_<rule>_wildcards_<...>) holds
    `comment_part`."""
    queue = subprocess.run(["squeue", "-h", "-t", "R", "-o", "%i %k"], capture_output=True,
                           text=True).stdout
    return next((line.split()[0] for line in queue.splitlines() if comment_part in line),
                None)


def cancel_between_cycles(run: Path, cycles: int, comment_part: str, head: subprocess.Popen,
                          timeout: float = 600) -> str:
    """scancel the job of the active-learning run in `run` once it has finished a cycle and
    not its last: what a scheduler's kill (preemption, time limit) does to a run."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and head.poll() is None:
        table = run / METRICS_CYCLE
        done = len(pd.read_csv(table)) if table.exists() else 0
        job = running_job(comment_part) if 0 < done < cycles else None
        if job:
            subprocess.run(["scancel", job], check=True)
            return job
        time.sleep(0.05)
    raise AssertionError(f"{run} never stood between two cycles in a running job "
                         f"(the workflow's exit status: {head.poll()})")

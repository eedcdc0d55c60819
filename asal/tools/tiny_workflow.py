"""The tiny profile: the whole workflow on one synthetic category, in a minute on 2 CPUs.

The workflow tests and benchmarks/slurm/bench_slurm.py run it on this machine
(`--cores 2`) and on a SLURM cluster (`--executor slurm`, with the workflow's profile and a
site's), and compare the tables each run writes, byte for byte.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

from asal.config.profiles import ENV_ROOTS
from asal.project import PARAMS_DIR, PROJECT_ROOT

SNAKEFILE = PROJECT_ROOT / "workflow" / "Snakefile"
# What the workflow asks of any SLURM cluster, and what this project's one-node cluster
# (benchmarks/slurm/start.sh) adds as a site: squeue for job states, an early first check.
SLURM_WORKFLOW_PROFILE = PROJECT_ROOT / "workflow" / "profiles" / "slurm"
SLURM_SITE_PROFILE = PROJECT_ROOT / "benchmarks" / "slurm" / "profile"
SLURM = ("--workflow-profile", str(SLURM_WORKFLOW_PROFILE), "--profile", str(SLURM_SITE_PROFILE),
         "--jobs", "4")

# every stage and job kind: the default scorer on the mixed pool and DRAEM on the normal
# images, the rotation pretext network (pt4al), three initial selections and the evidence
# head; 10 cycles at 32 px
TINY = dict(categories=["synth_washer"], seeds=[1], cycles=1, epochs=1, draem_epochs=1,
            image_size=32, draem_score_filter=3, inits=["asal", "random", "pt4al"],
            rotation_epochs=1, draem_normal=True)
# given on the command line, so a test sees --config reach every job (and a list parsed by
# Snakemake as text reach 04 as numbers)
TINY_CONFIG = ("--config", "cycles=10", "seeds=[0]")
TABLE_SUFFIXES = (".csv", ".md", ".tex", ".txt")


def write_profile(folder: Path, name: str = "tiny", base: str = "synthetic", **values) -> Path:
    """`params/<base>.yaml` with `values` (TINY by default) as folder/<name>.yaml, whose
    data, runs and figures live in `folder`; the experiment is called `name`."""
    profile = yaml.safe_load((PARAMS_DIR / f"{base}.yaml").read_text())
    profile.update(values or TINY, data_root=str(folder / "data"),
                   runs_root=str(folder / "runs"), figures_root=str(folder / "figures"))
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(profile))
    return path


def snakemake(*args: str, cwd: Path, timeout: int = 900, wait: bool = True):
    """Snakemake on the project's workflow, in `cwd` (its .snakemake/ goes there). The
    profiles given name their roots, so the environment's ASAL_* roots, which would win
    over them, are unset. With wait=False, the running process (its output in
    cwd/snakemake.log)."""
    env = {k: v for k, v in os.environ.items() if k not in ENV_ROOTS.values()}
    command = [sys.executable, "-m", "snakemake", "-s", str(SNAKEFILE), *args]
    if wait:
        return subprocess.run(command, cwd=cwd, capture_output=True, text=True,
                              timeout=timeout, env=env)
    log = open(Path(cwd) / "snakemake.log", "w")
    return subprocess.Popen(command, cwd=cwd, stdout=log, stderr=subprocess.STDOUT,
                            text=True, env=env)


def tables(figures: Path) -> dict[str, bytes]:
    """Every table an experiment's figures folder holds (not its images), by name."""
    return {p.name: p.read_bytes() for p in sorted(Path(figures).iterdir())
            if p.suffix in TABLE_SUFFIXES}

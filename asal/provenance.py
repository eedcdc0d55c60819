"""What every run records besides its parameters: git commit, package versions, device.

A run's config.json holds its parameters only, the same on every machine that runs it, so a
rebuild that reproduces rewrites no committed file. What ran it and what it cost (this
module's `provenance`) is a fact of one machine and one moment: it goes to the run's
provenance.json, which git ignores (.gitignore), and figures/<exp>/manifest.json gathers
the runs' provenance for the experiment.
"""

from __future__ import annotations

import platform
import subprocess
from importlib import metadata

import torch

from asal.project import PROJECT_ROOT
from asal.runtime import device_name

PACKAGES = ("torch", "torchvision", "numpy", "pandas", "scikit-learn", "scipy", "pillow")


def git_commit() -> str:
    """The commit of the project folder, with '+dirty' when its code differs from it."""
    try:
        run = dict(cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=10)
        commit = subprocess.run(["git", "rev-parse", "HEAD"], **run).stdout.strip()
        # results (runs/, figures/) being rebuilt do not make the code dirty
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--",
                                ".", ":!runs", ":!figures"], **run).stdout.strip()
        return (commit or "unknown") + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "absent"
    return versions


def cpu_model() -> str:
    """The CPU's model name (/proc/cpuinfo on Linux; the platform's word elsewhere): two
    makes of CPU compute trained numbers differently (docs/reproducing.md)."""
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.lower().startswith(("model name", "hardware", "cpu model")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def provenance(device: torch.device, **costs: float) -> dict:
    """A run's provenance.json: git commit, package versions, the device in words, the
    CPU's model, and what the run cost (its seconds, named by the stage)."""
    return {"git_commit": git_commit(), "packages": package_versions(),
            "device": device_name(device), "cpu": cpu_model(),
            **{name: round(value, 2) for name, value in costs.items()}}


def run_record(cfg, **extra) -> dict:
    """A run's config.json: every parameter (paths relative to the project) and what the
    stage adds to them (a fingerprint); nothing that differs between machines."""
    return {**cfg.record(), **extra}

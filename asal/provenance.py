"""What every run records besides its parameters: git commit, package versions, device."""

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


def provenance(device: torch.device) -> dict:
    return {"git_commit": git_commit(), "packages": package_versions(),
            "device": device_name(device), "cpu": cpu_model()}


def run_record(cfg, device: torch.device, **extra) -> dict:
    """A run's config.json: every parameter (paths relative to the project), then what
    ran it (`provenance`: git commit, package versions, the device in words)."""
    return {**cfg.record(), "provenance": provenance(device), **extra}

"""The committed versions of the project's files, from git: what a rebuild is compared
with, and the runs the tests and notebooks/refresh_outputs.py start from."""

from __future__ import annotations

import io
import shutil
import subprocess
import tarfile
from pathlib import Path

from asal.errors import AsalError
from asal.project import PROJECT_ROOT


def committed_text(rel: str, ref: str = "HEAD") -> str:
    """The committed version of a file of the project (a path relative to it), from git."""
    out = subprocess.run(["git", "show", f"{ref}:{rel}"], cwd=PROJECT_ROOT,
                         capture_output=True, text=True)
    if out.returncode:
        raise AsalError(f"git has no committed {rel} at {ref}; pass --reference with the "
                        "folder of the committed tables.")
    return out.stdout


def copy_committed_runs(dest: Path, keep: tuple[str, ...] = ("backbone.pt",)) -> None:
    """The committed runs/ (git HEAD, whatever a rebuild changed since) as dest/.

    Outside a git checkout, the folder as it is, without weights and executed notebooks.
    The tests and notebooks/refresh_outputs.py run the notebooks on such a copy. Files
    named in `keep` that dest/ already holds stay: the pretext backbones are never
    committed (45 MB each), so 03 uses the one 00 trained in the same session.
    """
    dest = Path(dest)
    kept = {p.relative_to(dest): p.read_bytes() for name in keep
            for p in dest.rglob(name)} if dest.exists() else {}
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    for rel, data in kept.items():
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        (dest / rel).write_bytes(data)
    archive = subprocess.run(["git", "archive", "--format=tar", "HEAD", "runs"],
                             cwd=PROJECT_ROOT, capture_output=True)
    if archive.returncode == 0:
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            for member in tar.getmembers():       # runs/<...> -> dest/<...>
                member.name = member.name.removeprefix("runs").lstrip("/") or "."
            tar.extractall(dest, filter="data")
    else:
        shutil.copytree(PROJECT_ROOT / "runs", dest, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("*.pt", "notebooks"))

"""A rebuild that reproduces changes nothing git holds (README: the main command).

The tiny profile is run in a folder of its own, committed with the project's .gitignore,
stripped to what a clone holds (`git clean -X`: no weights, checkpoints, provenance or
timings), then rebuilt from scratch with --forceall, as README's main command rebuilds a
fresh clone. Only figures/<exp>/manifest.json, which names the commit and machine that
built the tables, may change.
"""

import subprocess

from asal.project import PROJECT_ROOT
from asal.tools.tiny_workflow import snakemake, write_profile


def _git(*args: str, cwd) -> str:
    return subprocess.run(["git", "-c", "user.name=asal", "-c", "user.email=asal@localhost",
                           *args], cwd=cwd, capture_output=True, text=True,
                          check=True).stdout


# the stages that write results, each once: the default scorer and DRAEM (scores), the
# rotation network (pretext, for pt4al), batches, two runs of 03 and the tables
QUICK = ("--config", "inits=[asal,pt4al]")


def test_a_rebuild_of_a_clone_changes_only_the_manifest(tmp_path):
    profile = write_profile(tmp_path)
    first = snakemake("--cores", "2", "--configfile", str(profile), *QUICK, cwd=tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    (tmp_path / ".gitignore").write_text((PROJECT_ROOT / ".gitignore").read_text())
    _git("init", "-q", cwd=tmp_path)
    _git("add", "-A", cwd=tmp_path)
    _git("commit", "-qm", "the tiny experiment", cwd=tmp_path)
    assert "runs/tiny/synth_washer/al/asal/least_confidence/seed1/config.json" in \
        _git("ls-files", cwd=tmp_path)
    _git("clean", "-fdqX", cwd=tmp_path)                 # what a clone holds, data included
    assert not list((tmp_path / "runs").glob("**/provenance.json"))
    again = snakemake("--cores", "2", "--configfile", str(profile), *QUICK, "--forceall",
                      cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    assert list((tmp_path / "runs").glob("**/provenance.json"))    # made again, not kept
    changed = _git("status", "--porcelain", "--", "runs", "figures", cwd=tmp_path)
    assert changed.splitlines() in ([], [" M figures/tiny/manifest.json"]), changed

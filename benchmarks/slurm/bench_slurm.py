"""The tiny profile end to end on SLURM against --cores 2: times, overhead per job, faults.

    sudo benchmarks/slurm/start.sh          # a one-node SLURM on this machine
    python benchmarks/slurm/bench_slurm.py [--dir DIR]
    sudo benchmarks/slurm/stop.sh

Runs the tiny profile (asal/tools/tiny_workflow.py, 10 jobs and the target) three times:
with --cores 2; through SLURM (--workflow-profile workflow/profiles/slurm, --profile
benchmarks/slurm/profile, 4 jobs at once); and through SLURM once more with ASAL's
active-learning job cancelled between two cycles (scancel), then re-run. Prints the wall
times, what SLURM adds to each job (waiting in the queue, starting Snakemake on the node,
the plugin noticing the end), whether every table equals the --cores 2 ones byte for byte,
and the GPU request of each job.
"""

import argparse
import datetime
import re
import statistics
import tempfile
import time
from pathlib import Path

from asal.tools.slurm_jobs import cancel_between_cycles, slurm_job
from asal.tools.tiny_workflow import SLURM, TINY_CONFIG, snakemake, tables, write_profile

STAMP = r"\[(\w{3} \w{3} +\d+ [\d:]+ \d{4})\]\n"
STARTED = re.compile(STAMP + r"(?:local)?(?:rule|checkpoint) (\w+):\n((?:    .*\n)+)")
FINISHED = re.compile(STAMP + r"Finished jobid: (\d+) \(Rule: (\w+)\)")


def _time(stamp: str) -> float:
    return datetime.datetime.strptime(" ".join(stamp.split()), "%a %b %d %H:%M:%S %Y").timestamp()


def job_times(log: str) -> dict[str, dict]:
    """{rule and wildcards: start, end (head's clock, s), Snakemake's job id} from a log."""
    jobs, by_id = {}, {}
    for stamp, rule, body in STARTED.findall(log):
        job_id = re.search(r"jobid: (\d+)", body).group(1)
        wildcards = re.search(r"wildcards: (.*)", body)
        key = rule + (f" {wildcards.group(1)}" if wildcards else "")
        jobs[key] = by_id[job_id] = {"start": _time(stamp), "id": job_id, "rule": rule}
    for stamp, job_id, _ in FINISHED.findall(log):
        by_id[job_id]["end"] = _time(stamp)
    return jobs


def run(label: str, folder: Path, *args: str) -> tuple[str, float]:
    folder.mkdir(parents=True, exist_ok=True)
    profile = write_profile(folder)
    start = time.monotonic()
    out = snakemake(*args, "--configfile", str(profile), *TINY_CONFIG, cwd=folder)
    seconds = time.monotonic() - start
    if out.returncode:
        raise SystemExit(f"the {label} run failed:\n{out.stderr[-3000:]}")
    print(f"{label}: {seconds:.0f} s wall")
    return out.stderr, seconds


def overhead(local_log: str, slurm_log: str) -> None:
    """What SLURM adds to each job, against the same job run with --cores 2."""
    local, remote = job_times(local_log), job_times(slurm_log)
    ids = dict(re.findall(r"Job (\d+) has been submitted with SLURM jobid (\d+)", slurm_log))
    rows = []
    for key, job in remote.items():
        if job["id"] not in ids or key not in local:
            continue
        s = slurm_job(ids[job["id"]])
        submit, begin, end = (_iso(s[k]) for k in ("SubmitTime", "StartTime", "EndTime"))
        here = local[key]["end"] - local[key]["start"]
        rows.append({"job": key, "local": here, "slurm": job["end"] - job["start"],
                     "queue": begin - submit, "node": (end - begin) - here,
                     "notice": job["end"] - end, "gpu": s.get("TresPerJob", "-")})
    print(f"{'job':58} {'local':>6} {'slurm':>6} {'queue':>6} {'node+':>6} {'notice':>6}  "
          "request")
    for r in rows:
        print(f"{r['job'][:58]:58} {r['local']:6.0f} {r['slurm']:6.0f} {r['queue']:6.0f} "
              f"{r['node']:6.0f} {r['notice']:6.0f}  {r['gpu']}")
    added = [r["slurm"] - r["local"] for r in rows]
    print(f"SLURM adds {statistics.mean(added):.0f} s a job on average (median "
          f"{statistics.median(added):.0f} s, over {len(rows)} jobs): queue "
          f"{statistics.mean(r['queue'] for r in rows):.0f} s, Snakemake's start on the node "
          f"{statistics.mean(r['node'] for r in rows):.0f} s, the plugin noticing the end "
          f"{statistics.mean(r['notice'] for r in rows):.0f} s (clocks to the second)")


def _iso(value: str) -> float:
    return datetime.datetime.fromisoformat(value).timestamp()


def cancelled_and_resumed(folder: Path, reference: dict[str, bytes]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    profile = write_profile(folder)
    args = (*SLURM, "--configfile", str(profile), *TINY_CONFIG)
    head = snakemake(*args, cwd=folder, wait=False)
    run = folder / "runs" / "tiny" / "synth_washer" / "al" / "asal" / "least_confidence" / "seed0"
    job = cancel_between_cycles(run, 10, "asal_least_confidence", head)
    print(f"scancel {job} (ASAL's active-learning job) between two cycles: the workflow "
          f"exits {head.wait()}")
    start = time.monotonic()
    again = snakemake(*args, cwd=folder)
    notebook = (folder / "runs" / "tiny" / "notebooks" / "03_active_learning"
                / "synth_washer_asal_least_confidence_seed0.ipynb").read_text()
    said = re.search(r"continues from its checkpoint: (\d+) of its", notebook)
    same = tables(folder / "figures" / "tiny") == reference
    print(f"the re-run exits {again.returncode} after {time.monotonic() - start:.0f} s; the run "
          f"continued from cycle {said.group(1) if said else '?'}; tables equal --cores 2: "
          f"{same}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, help="where the three runs go (default: a temp)")
    folder = parser.parse_args().dir or Path(tempfile.mkdtemp(prefix="bench-slurm-"))
    local_log, _ = run("--cores 2", folder / "local", "--cores", "2")
    slurm_log, _ = run("SLURM, --jobs 4", folder / "slurm", *SLURM)
    reference = tables(folder / "local" / "figures" / "tiny")
    same = tables(folder / "slurm" / "figures" / "tiny") == reference
    print(f"the SLURM run's {len(reference)} tables equal --cores 2, byte for byte: {same}")
    overhead(local_log, slurm_log)
    cancelled_and_resumed(folder / "cancelled", reference)
    print(f"(the runs are in {folder})")


if __name__ == "__main__":
    main()

"""README's main command, timed: the whole synthetic pipeline and where its time goes.

    python benchmarks/bench_pipeline.py [--cpu native|avx2|sse41] [--cores 2]
    python benchmarks/bench_pipeline.py --from-log .snakemake/log/<run>.snakemake.log

The second form times a run already made (the ELPV experiment: 90 minutes are not run
twice): its wall time and each job's, from start to finish as Snakemake logged them.

Runs `snakemake -s workflow/Snakefile --cores N --forceall` with the data, runs and figures
in a scratch folder (the checkout is left alone), then prints the wall time and, per rule,
the number of jobs and their summed seconds (papermill's own duration of each executed
notebook; kernel start-up is the rest of a job). `--cpu` emulates another CPU on this one:
`avx2` a CPU without AVX-512 (the project's pinned default), `sse41` an older one without
AVX2, `native` lets the kernels use everything this CPU has (ASAL_CPU_KERNELS=native).
Target: at most 10 minutes on 2 cores for avx2.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CPUS = {
    "native": {"ASAL_CPU_KERNELS": "native"},
    "avx2": {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2", "MKL_CBWR": "AVX2"},
    "sse41": {"ATEN_CPU_CAPABILITY": "default", "ONEDNN_MAX_CPU_ISA": "SSE41",
              "MKL_CBWR": "COMPATIBLE"},
}


STAMP = re.compile(r"^\[(\w{3} \w{3} +\d+ [\d:]+ \d{4})\]$")
STARTED = re.compile(r"^(?:local)?rule (\w+):$")
JOBID = re.compile(r"^\s+jobid: (\d+)$")
FINISHED = re.compile(r"^Finished jobid: (\d+) \(Rule: (\w+)\)$")


def job_times_from_log(path: Path) -> tuple[float, dict[str, list[float]]]:
    """The wall time of a logged Snakemake run and each finished job's seconds, by rule."""
    stamp = first = None
    rule, started, seconds = None, {}, {}
    for line in path.read_text().splitlines():
        if m := STAMP.match(line):
            stamp = datetime.strptime(m.group(1), "%a %b %d %H:%M:%S %Y")
            first = first or stamp
        elif m := STARTED.match(line):
            rule = m.group(1)
        elif (m := JOBID.match(line)) and rule:
            started[m.group(1)], rule = stamp, None
        elif (m := FINISHED.match(line)) and m.group(1) in started:
            seconds.setdefault(m.group(2), []).append(
                (stamp - started[m.group(1)]).total_seconds())
    return (stamp - first).total_seconds(), seconds


def report_log(path: Path) -> None:
    wall, seconds = job_times_from_log(path)
    print(f"{path.name}: {wall / 60:.1f} min wall, "
          f"{sum(map(len, seconds.values()))} jobs finished")
    for rule, times in sorted(seconds.items()):
        print(f"  {rule:<20} {len(times):>3} jobs, {sum(times):7.0f} s in all "
              f"({sum(times) / len(times):.0f} s each, longest {max(times):.0f} s)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cpu", choices=sorted(CPUS), default="avx2")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--keep", help="keep the scratch runs and figures in this folder")
    parser.add_argument("--from-log", type=Path, help="time a logged run instead of running")
    args = parser.parse_args()
    if args.from_log:
        return report_log(args.from_log)
    scratch = Path(args.keep or tempfile.mkdtemp(prefix="asal-bench-"))
    scratch.mkdir(parents=True, exist_ok=True)
    roots = {k: str(scratch / k) for k in ("data", "runs", "figures")}
    env = {k: v for k, v in os.environ.items() if k not in
           ("ASAL_CPU_KERNELS", "ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA", "MKL_CBWR")}
    env.update(CPUS[args.cpu])
    command = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "workflow" / "Snakefile"),
               "--cores", str(args.cores), "--forceall", "--quiet", "--config",
               *(f"{k}_root={v}" for k, v in roots.items())]
    start = time.perf_counter()
    run = subprocess.run(command, cwd=scratch, env=env)
    wall = time.perf_counter() - start
    if run.returncode:
        sys.exit(f"the pipeline failed (exit {run.returncode})")
    per_rule = {}
    for nb in Path(roots["runs"], "synthetic", "notebooks").rglob("*.ipynb"):
        seconds = json.loads(nb.read_text())["metadata"]["papermill"]["duration"]
        rule = nb.parent.name if nb.parent.name != "notebooks" else nb.stem
        count, total = per_rule.get(rule, (0, 0.0))
        per_rule[rule] = (count + 1, total + seconds)
    print(f"pipeline ({args.cpu} kernels, {args.cores} cores): {wall:.0f} s wall")
    for rule, (count, total) in sorted(per_rule.items()):
        print(f"  {rule:<20} {count:>3} jobs, {total:7.0f} s in notebooks "
              f"({total / count:.0f} s each)")
    print(f"outputs in {scratch}" if args.keep else "")


if __name__ == "__main__":
    main()

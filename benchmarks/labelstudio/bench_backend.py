"""How long a labeler waits for the next images with asal's ML backend (docs/label-studio.md):

    python benchmarks/labelstudio/bench_backend.py [--rounds 3]

params/own.yaml (64 px, the default scorer, the evidence head) on a folder of unlabeled
images made from the built-in synth_washer pool, stopped for its initial set; a local Label
Studio (asal/tools/label_studio_server.py: $ASAL_LABEL_STUDIO or label-studio on PATH);
`asal label-studio backend` as its own process, the project connected to it by `push
--backend`. Each round annotates every task asked, through the API as a browser does, and
times from the last annotation to the next cycle's images standing in the project. Prints
one line per round and the median.
"""

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from asal.config.layout import al_dir
from asal.labelstudio.backend import SECRET_ENV, basic_auth, connect
from asal.labelstudio.client import LabelStudio
from asal.labelstudio.round_trip import push
from asal.tools.label_studio_server import free_port, start, stop
from asal.tools.labeler_picture import waiting_demo_run

SECRET = "the-benchmark-secret-0123456789"


def annotate(client: LabelStudio, task: int, label: str) -> None:
    client.post(f"/api/tasks/{task}/annotations", {"result": [
        {"value": {"choices": [label]}, "from_name": "label", "to_name": "img",
         "type": "choices", "origin": "manual"}]})


def wait_for(condition, timeout: float) -> float:
    start_at = time.monotonic()
    while time.monotonic() - start_at < timeout:
        if condition():
            return time.monotonic() - start_at
        time.sleep(0.1)
    raise SystemExit(f"the next images did not appear within {timeout:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="asal-bench-backend-") as tmp:
        scratch = Path(tmp)
        cfg, answers = waiting_demo_run(scratch)
        truth = {k: "defect" if v else "good" for k, v in answers.items()}
        server = start(scratch, scratch / "label-studio")
        run, url = al_dir(cfg), f"http://127.0.0.1:{free_port()}"
        env = {**os.environ, "LABEL_STUDIO_TOKEN": server.token, SECRET_ENV: SECRET}
        backend = subprocess.Popen(
            [sys.executable, "-m", "asal", "label-studio", "backend", str(run), "--url",
             server.url, "--document-root", str(scratch), "--port", url.rsplit(":", 1)[1]],
            env=env, stdout=subprocess.DEVNULL, stderr=open(scratch / "backend.log", "w"))
        try:
            wait_for(lambda: _up(url), 120)
            client = LabelStudio(server.url, server.token)
            pushed = push(run, client, document_root_dir=scratch)
            connect(client, pushed.project, url, SECRET, model_version=pushed.model_version)
            waits = []
            for n in range(1, args.rounds + 1):
                tasks = [t for t in client.tasks(pushed.project)
                         if not t.get("total_annotations")]
                for task in tasks:
                    key = task["data"]["asal_path"]
                    annotate(client, task["id"], truth[key])
                seconds = wait_for(lambda: any(
                    not t.get("total_annotations") for t in client.tasks(pushed.project)), 600)
                waits.append(seconds)
                print(f"round {n}: {len(tasks)} labels, the next images in Label Studio "
                      f"{seconds:.1f} s after the last one")
            print(f"median {statistics.median(waits):.1f} s over {len(waits)} rounds "
                  f"({cfg.image_size} px, {cfg.scorer}, head {cfg.head}, "
                  f"{os.cpu_count()} CPUs)")
        finally:
            backend.send_signal(signal.SIGTERM)
            backend.wait(30)
            stop(server)


def _up(url: str) -> bool:
    try:
        return requests.get(url + "/health", timeout=2, headers={
            "Authorization": basic_auth(SECRET)}).status_code == 200
    except requests.RequestException:
        return False


if __name__ == "__main__":
    main()

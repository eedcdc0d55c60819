#!/usr/bin/env bash
# Stops the one-node SLURM that start.sh started (its jobs first); the packages stay.
set -uo pipefail
scancel --user "$(id -un)" 2>/dev/null
for daemon in slurmd slurmctld munged; do
    pkill -x "$daemon" 2>/dev/null
done
running() {   # a daemon not yet gone; a zombie waiting for its parent counts as gone
    pgrep -r D,R,S,T -x slurmd || pgrep -r D,R,S,T -x slurmctld || pgrep -r D,R,S,T -x munged
}
for _ in $(seq 40); do
    running >/dev/null || exit 0
    sleep 0.5
done
echo "some SLURM daemons are still running: $(running)" >&2
exit 1

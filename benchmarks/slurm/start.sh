#!/usr/bin/env bash
# A one-node SLURM on this machine, for the SLURM tests and benchmarks/slurm/bench_slurm.py:
# munge, slurmctld and slurmd from Debian's slurm-wlm (installed if missing), the machine's
# CPUs, two fake GPUs declared as a typed GRES (gpu:fake, backed by /dev/null and
# /dev/zero: SLURM counts and hands them out, nothing uses them), one partition `main`.
# No accounting database: the plugin reads job states with squeue, and MinJobAge=3600 keeps
# finished jobs listed for it (and for scontrol show job).
#   sudo benchmarks/slurm/start.sh [--install]     then   sudo benchmarks/slurm/stop.sh
set -euo pipefail
if [[ "$(id -u)" != 0 ]]; then
    echo "start.sh installs packages and starts daemons, so it runs as root: sudo $0" >&2
    exit 1
fi
if [[ "${1:-}" == "--install" ]] || ! command -v slurmctld >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null
fi
HOST="$(hostname -s)"
CPUS="$(nproc)"
# Memory is not enforced here (no cgroups), so the node declares 64 GB, whatever it has:
# enough for two of the workflow profile's DRAEM jobs (16 GB each) at once, as on a GPU node
MEM_MB=65536
mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm /run/munge
cat > /etc/slurm/slurm.conf <<CONF
ClusterName=asal
SlurmctldHost=${HOST}
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=$(( MEM_MB / CPUS ))
ReturnToService=2
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmdSpoolDir=/var/spool/slurmd
StateSaveLocation=/var/spool/slurmctld
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
SlurmUser=root
SlurmdParameters=config_overrides
MinJobAge=3600
KillWait=5
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
GresTypes=gpu
NodeName=${HOST} CPUs=${CPUS} RealMemory=${MEM_MB} Gres=gpu:fake:2 State=UNKNOWN
PartitionName=main Nodes=${HOST} Default=YES MaxTime=INFINITE State=UP
CONF
cat > /etc/slurm/gres.conf <<CONF
NodeName=${HOST} Name=gpu Type=fake File=/dev/null,/dev/zero
CONF
if [[ ! -s /etc/munge/munge.key ]]; then
    mkdir -p /etc/munge
    dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key status=none
fi
chown -R munge:munge /etc/munge /run/munge /var/lib/munge /var/log/munge 2>/dev/null || true
chmod 400 /etc/munge/munge.key
alive() { pgrep -r D,R,S,T -x "$1" >/dev/null; }    # a zombie of a stopped one is not
alive munged || runuser -u munge -- /usr/sbin/munged
alive slurmctld || slurmctld
alive slurmd || slurmd
for _ in $(seq 30); do
    if sinfo -h -o %T 2>/dev/null | grep -qE "idle|mixed|alloc"; then
        sinfo
        exit 0
    fi
    scontrol update NodeName="${HOST}" State=RESUME >/dev/null 2>&1 || true
    sleep 1
done
echo "SLURM did not come up; see /var/log/slurm/slurmctld.log and slurmd.log" >&2
exit 1

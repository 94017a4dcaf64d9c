#!/usr/bin/env bash
# A real single-node Slurm cluster on this machine for the tests (docs/slurm.md, "Testing"):
#   scripts/slurm-test-cluster.sh COMMAND [ARGS...]
# Installs Debian's slurm-wlm and munge when missing (through scripts/setup.sh), writes a slurm.conf
# for this machine (its hostname, CPUs from nproc, RealMemory from /proc/meminfo minus a margin; no
# cgroups, no accounting) and a munge key in a temporary folder, starts munged, slurmctld and slurmd
# as root on localhost, waits until sinfo shows the node idle, runs COMMAND with SLURM_CONF set (so
# sbatch, squeue, scancel and sinfo talk to this cluster), and stops everything it started, by pid,
# when it ends (also when COMMAND fails or the script is interrupted). Exits with COMMAND's code; 1
# with the daemons' log tails when the cluster does not come up. One cluster at a time (flock).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -eq 0 ]; then
  echo "usage: scripts/slurm-test-cluster.sh COMMAND [ARGS...]" >&2
  exit 2
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "slurm-test-cluster: must run as root (slurmd runs jobs as root here)" >&2
  exit 1
fi
for exe in munged slurmctld slurmd sinfo sbatch; do
  if ! command -v "$exe" >/dev/null; then
    bash scripts/setup.sh # slurm-wlm and munge are among its packages
    break
  fi
done

# One test cluster at a time on this machine: the daemons' ports are fixed.
LOCKDIR=/run/lock
[ -d "$LOCKDIR" ] || LOCKDIR=/tmp
LOCK="$LOCKDIR/mpsim-slurm-test-cluster.lock"
exec 9>"$LOCK"
if ! flock -w 600 9; then
  echo "slurm-test-cluster: another test cluster kept $LOCK for 600 s" >&2
  exit 1
fi
# The daemons of a run that was killed outright (SIGKILL: no trap ran) are stopped by their pids.
if [ -f "$LOCK.pids" ]; then
  while read -r pid dir; do
    case "$(cat "/proc/$pid/comm" 2>/dev/null)" in
      munged | slurmctld | slurmd) kill -KILL "$pid" 2>/dev/null || true ;;
    esac
    case "$dir" in /tmp/mpsim-slurm.*) rm -rf "$dir" ;; esac
  done <"$LOCK.pids"
  rm -f "$LOCK.pids"
fi

T=$(mktemp -d /tmp/mpsim-slurm.XXXXXX)
chmod 755 "$T"
PIDS=()
tails() {
  for f in "$T"/munged.log "$T"/slurmctld.log "$T"/slurmd.log; do
    [ -f "$f" ] && { echo "--- tail of $f"; tail -n 30 "$f"; }
  done >&2
}
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ ${#PIDS[@]} -gt 1 ]; then
    # Jobs still queued or running on this cluster are cancelled, so no job step outlives it.
    scancel --full --quiet --user=root 2>/dev/null || true
    for _ in $(seq 50); do
      [ -z "$(squeue -h -o %i 2>/dev/null)" ] && break
      sleep 0.2
    done
  fi
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do kill -TERM "${PIDS[i]}" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -f "$LOCK.pids"
  if [ "$rc" -ne 0 ] && [ -n "${MPSIM_SLURM_KEEP:-}" ]; then
    echo "slurm-test-cluster: kept $T" >&2
  else
    rm -rf "$T"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

HOST=$(hostname -s)
CPUS=$(nproc)
MEM_MB=$(awk '/^MemTotal:/ { m = int($2 / 1024) - 1024; if (m < 256) m = 256; print m }' /proc/meminfo)
mkdir -p "$T/state" "$T/spool" "$T/munge"
chmod 711 "$T/munge"

# munge: its own key, socket and files in the temporary folder (the system's munged is not used).
dd if=/dev/urandom of="$T/munge/munge.key" bs=1 count=1024 status=none
chmod 400 "$T/munge/munge.key"
munged --foreground --force --key-file="$T/munge/munge.key" --socket="$T/munge/munge.socket" \
  --pid-file="$T/munge/munged.pid" --log-file="$T/munged.log" --seed-file="$T/munge/munge.seed" >/dev/null 2>&1 &
PIDS+=($!)
echo "$! $T" >>"$LOCK.pids"

cat > "$T/slurm.conf" <<EOF
# Single-node test cluster written by scripts/slurm-test-cluster.sh
ClusterName=mpsimtest
SlurmctldHost=$HOST(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort=6817
SlurmdPort=6818
AuthType=auth/munge
AuthInfo=socket=$T/munge/munge.socket
CredType=cred/munge
StateSaveLocation=$T/state
SlurmdSpoolDir=$T/spool
SlurmctldPidFile=$T/slurmctld.pid
SlurmdPidFile=$T/slurmd.pid
SlurmctldLogFile=$T/slurmctld.log
SlurmdLogFile=$T/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/builtin
SlurmdParameters=config_overrides
MpiDefault=none
SwitchType=switch/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
ReturnToService=2
KillWait=5
MinJobAge=5
InactiveLimit=0
SlurmctldTimeout=30
SlurmdTimeout=30
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEM_MB State=UNKNOWN
PartitionName=test Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF="$T/slurm.conf"

for _ in $(seq 50); do [ -S "$T/munge/munge.socket" ] && break; sleep 0.1; done
slurmctld -D -i -f "$SLURM_CONF" >>"$T/slurmctld.log" 2>&1 &
PIDS+=($!)
echo "$! $T" >>"$LOCK.pids"
slurmd -D -N "$HOST" -f "$SLURM_CONF" >>"$T/slurmd.log" 2>&1 &
PIDS+=($!)
echo "$! $T" >>"$LOCK.pids"

state=""
for _ in $(seq 300); do
  state=$(sinfo -h -N -n "$HOST" -o %T 2>/dev/null || true)
  [ "$state" = "idle" ] && break
  for pid in "${PIDS[@]}"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "slurm-test-cluster: a daemon (pid $pid) exited while starting" >&2
      tails
      exit 1
    fi
  done
  sleep 0.1
done
if [ "$state" != "idle" ]; then
  echo "slurm-test-cluster: node $HOST is not idle after 30 s (sinfo: '${state}')" >&2
  tails
  exit 1
fi
echo "slurm-test-cluster: node $HOST idle ($CPUS CPUs, ${MEM_MB} MB), SLURM_CONF=$SLURM_CONF" >&2
set +e
"$@"
rc=$?
set -e
exit "$rc"

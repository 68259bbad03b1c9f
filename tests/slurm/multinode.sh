#!/usr/bin/env bash
# A real three-node Slurm cluster on this machine, for the tests: each node is
# a Linux network namespace with its own address on a private bridge, its own
# hostname (UTS namespace) and its own /tmp and /dev/shm (mount namespace), as
# separate machines have: Open MPI's shared-memory segments of one node are
# neither seen nor removed by another, nor left in the machine's /dev/shm when a
# node's processes are killed; one slurmd per
# node, one slurmctld in a fourth namespace, one munged whose socket (a file in
# DIR) all of them use. Everything it starts runs in these namespaces.
#
#   tests/slurm/multinode.sh start DIR         # prints KEY=VALUE lines: SLURM_CONF, the subnet, ...
#   tests/slurm/multinode.sh stop DIR          # every process in the namespaces, by pid; the namespaces
#   tests/slurm/multinode.sh crash DIR NODE    # NODE fails silently: its link down, its processes killed
#   tests/slurm/multinode.sh boot DIR NODE     # NODE back: its link up, its slurmd started again
#   tests/slurm/multinode.sh exec DIR NODE CMD [ARGS...]   # CMD on NODE (its network, hostname, /tmp, /dev/shm)
#
# Layout, in the subnet 10.213.K.0/24 (K: the first index whose names and
# subnet are unused, so that two clusters can coexist):
#   tlsmnK-ctl     namespace of slurmctld and munged (hostname ctl), 10.213.K.254
#                  on the bridge br0, which lives in this namespace
#   tlsmnK-nodeN   node N (hostname nodeN), 10.213.K.N on its eth0, whose other
#                  end is nodeN on br0
#   tlsmnK         the root namespace's link to br0 (10.213.K.253): sbatch and
#                  the other clients run in the root namespace
# No namespace has a default route: nothing leaves the machine, and slurmctld
# and the slurmds are reachable only from the root namespace and each other.
# The bridge is not in the root namespace so that the machine's own firewall
# (e.g. Docker's FORWARD policy with br_netfilter) never sees node-to-node traffic.
# DIR is the shared file system of the cluster (state, spool, logs, the jobs'
# working directories); it must not be under /tmp, which each node has of its
# own (DIR/nodes/NODE/tmp, writable from the root namespace; its /dev/shm is
# DIR/nodes/NODE/shm). Directories under
# /tmp that every node should see as the root namespace does (a clone and its
# build under /tmp) are named, separated by colons, in TLSWEEP_MULTINODE_SHARE
# at start: each is bound at its own path inside every node's /tmp.
# Needs root, iproute2, util-linux (unshare, nsenter, flock) and Debian's
# slurm-wlm and munge; a kernel with network, UTS and mount namespaces, veth
# and bridge (Debian 12's stock kernel has them).
set -eEuo pipefail
cmd=${1:?start, stop, crash, boot or exec}
dir=$(realpath -m "${2:?directory}")
NODES=(node1 node2 node3)
REGISTRY=/run/tlsweep-multinode # one file per running cluster: its index, holding "DIR OWNER-PID"
CPUS_PER_NODE=2

say() { echo "multinode.sh: $*" >&2; }

load_instance() {
  [ -s "$dir/instance" ] || return 1
  K=$(cat "$dir/instance")
  set_names
}

set_names() {
  net=10.213.$K
  uplink=tlsmn$K # the root namespace's link
  ns_ctl=tlsmn$K-ctl
}
ns_of() { echo "tlsmn$K-$1"; }
addr_of() {
  case $1 in
  ctl) echo "$net.254" ;;
  node*) echo "$net.${1#node}" ;;
  esac
}
check_node() {
  local n
  for n in "${NODES[@]}"; do [ "$n" = "$1" ] && return 0; done
  say "no node '$1'; the nodes are ${NODES[*]}"
  exit 2
}

# wait_gone PID...: 0 once none of them runs (within 10 s), else 1
wait_gone() {
  local p left
  for _ in $(seq 100); do
    left=0
    for p in "$@"; do kill -0 "$p" 2>/dev/null && left=1; done
    [ "$left" -eq 0 ] && return 0
    sleep 0.1
  done
  return 1
}

# pid_in FILE NS: the process id in FILE if that process runs in namespace NS
# (so that a stale file never names another process)
pid_in() {
  local pid
  [ -s "$1" ] || return 1
  pid=$(cat "$1")
  [ "$(stat -L -c %i "/proc/$pid/ns/net" 2>/dev/null)" = "$(stat -L -c %i "/run/netns/$2" 2>/dev/null)" ] || return 1
  echo "$pid"
}

# stop_pids PID...: SIGTERM, and SIGKILL to those still running after 10 s
stop_pids() {
  [ $# -gt 0 ] || return 0
  kill -TERM "$@" 2>/dev/null || true
  wait_gone "$@" && return 0
  kill -KILL "$@" 2>/dev/null || true
  wait_gone "$@" || say "processes $* survived SIGKILL"
}

# stop_ns NS: every process in network namespace NS
stop_ns() {
  local pids
  ip netns list | grep -qw "^$1" || return 0
  mapfile -t pids < <(ip netns pids "$1" 2>/dev/null)
  stop_pids "${pids[@]}"
}

# in_node NODE CMD...: CMD in NODE's network namespace, with NODE's hostname,
# its /tmp and /dev/shm and the cluster's /etc/hosts (new UTS and mount
# namespaces; every CMD on NODE sees the same /tmp and /dev/shm). Not
# `ip netns exec`: it mounts a /sys of its own, without /sys/fs/cgroup, which
# slurmd needs.
in_node() {
  local node=$1
  shift
  local shares=""
  [ -f "$dir/shares" ] && shares=$(cat "$dir/shares")
  # shellcheck disable=SC2016 # expanded by that sh
  nsenter --net="/run/netns/$(ns_of "$node")" unshare --uts --mount --propagation private -- \
    /bin/sh -c 'hostname "$1" || exit 1
      for p in $4; do mkdir -p "$2${p#/tmp}" && mount --bind "$p" "$2${p#/tmp}" || exit 1; done
      mount --rbind "$2" /tmp && mount --bind "$5" /dev/shm && mount --bind "$3" /etc/hosts || exit 1
      shift 5 && exec "$@"' \
    sh "$node" "$dir/nodes/$node/tmp" "$dir/hosts" "$shares" "$dir/nodes/$node/shm" "$@"
}

start_slurmd() {
  local node=$1
  in_node "$node" /usr/sbin/slurmd -f "$dir/slurm.conf" -N "$node"
}

# the controller's namespace and the bridge in it, and the root namespace's link to it
add_ctl() {
  ip netns add "$ns_ctl"
  ip -n "$ns_ctl" link set lo up
  ip -n "$ns_ctl" link add br0 type bridge
  ip -n "$ns_ctl" addr add "$(addr_of ctl)/24" dev br0
  ip -n "$ns_ctl" link set br0 up
  ip link add "$uplink" type veth peer name host netns "$ns_ctl"
  ip -n "$ns_ctl" link set host master br0 up
  ip addr add "$net.253/24" dev "$uplink"
  ip link set "$uplink" up
}

# NODE's namespace, its eth0 linked to the bridge (as port NODE)
add_node() {
  local node=$1 ns
  ns=$(ns_of "$1")
  ip netns add "$ns"
  ip -n "$ns" link set lo up
  ip -n "$ns" link add eth0 type veth peer name "$node" netns "$ns_ctl"
  ip -n "$ns_ctl" link set "$node" master br0 up
  ip -n "$ns" addr add "$(addr_of "$node")/24" dev eth0
  ip -n "$ns" link set eth0 up
}

# stop_instance: instance K's daemons by their pid files, then every process
# left in its namespaces (jobs, a crashed node's slurmd); its namespaces (and
# so its links and bridge), its registry entry. DIR may be gone (an orphan's).
stop_instance() {
  local n ns pid pids=() all=("$ns_ctl")
  for n in "${NODES[@]}"; do all+=("$(ns_of "$n")"); done
  for n in "${NODES[@]}"; do
    pid=$(pid_in "$dir/run/slurmd-$n.pid" "$(ns_of "$n")") && pids+=("$pid")
  done
  stop_pids "${pids[@]}"
  pid=$(pid_in "$dir/run/slurmctld.pid" "$ns_ctl") && stop_pids "$pid"
  pid=$(pid_in "$dir/munge/munged.pid" "$ns_ctl") && stop_pids "$pid"
  for ns in "${all[@]}"; do stop_ns "$ns"; done
  for ns in "${all[@]}"; do
    ip netns del "$ns" 2>/dev/null || true # its links go with it, and so their other ends
  done
  ip link del "$uplink" 2>/dev/null || true
  rm -f "$dir/instance" "$REGISTRY/$K"
}

# sweep_orphans: stops the clusters whose starter has ended without stopping
# them (a test run killed by a timeout); called with the registry locked
sweep_orphans() {
  local f owner K dir
  for f in "$REGISTRY"/[0-9]*; do
    [ -e "$f" ] || continue
    read -r dir owner <"$f" || true
    if [ -n "${owner:-}" ] && ! kill -0 "$owner" 2>/dev/null; then
      K=${f##*/}
      set_names
      say "stopping the cluster in $dir (index $K), left by process $owner, which has ended"
      stop_instance
    fi
  done
}

wait_idle() {
  local want=$1 state
  for _ in $(seq 150); do
    state=$(sinfo -h -N -o '%N %t' 2>/dev/null | sort | tr '\n' ' ' || true)
    [ "$state" = "$want" ] && return 0
    sleep 0.2
  done
  say "the nodes did not become idle (sinfo: '${state:-none}'); logs in $dir/log"
  tail -n 5 "$dir"/log/*.log >&2 || true
  return 1
}

case $cmd in
start)
  case $dir/ in /tmp/*)
    say "$dir is under /tmp, which each node has of its own: choose a directory elsewhere (e.g. /var/tmp)"
    exit 2
    ;;
  esac
  if [ -e "$dir/instance" ]; then
    say "$dir already holds a cluster: stop it first (multinode.sh stop $dir)"
    exit 2
  fi
  shares=""
  IFS=: read -r -a wanted <<<"${TLSWEEP_MULTINODE_SHARE:-}"
  for p in "${wanted[@]}"; do
    [ -n "$p" ] || continue
    p=$(realpath -e "$p" 2>/dev/null) || {
      say "TLSWEEP_MULTINODE_SHARE: $p is not a directory; allowed: directories under /tmp"
      exit 2
    }
    case $p in
    /tmp/*[[:space:]]* | *[[:space:]]*) say "TLSWEEP_MULTINODE_SHARE: $p has a blank in its name" && exit 2 ;;
    /tmp/?*) [ -d "$p" ] && shares="$shares $p" && continue ;;
    esac
    say "TLSWEEP_MULTINODE_SHARE: $p is not a directory under /tmp (the others are shared already)"
    exit 2
  done
  mkdir -p "$dir"/{state,spool,log,run,munge}
  echo "$shares" >"$dir/shares"
  # the first free index, chosen under a lock so that two starts do not take the same one
  mkdir -p "$REGISTRY"
  exec 9>"$REGISTRY/lock"
  flock 9
  sweep_orphans
  K=
  for k in $(seq 0 63); do
    [ -e "$REGISTRY/$k" ] && continue
    ip link show "tlsmn$k" >/dev/null 2>&1 && continue
    ip -o -4 addr show | grep -q " 10\.213\.$k\." && continue
    ip -o -4 route show match "10.213.$k.0/24" | grep -qv '^default' && continue
    ip netns list | grep -q "^tlsmn$k-" && continue
    K=$k
    break
  done
  if [ -z "$K" ]; then
    say "no free subnet among 10.213.0-63.0/24"
    exit 1
  fi
  set_names
  echo "$K" >"$dir/instance"
  echo "$dir ${TLSWEEP_MULTINODE_OWNER:-$PPID}" >"$REGISTRY/$K"
  trap 'say "start failed; cleaning up"; stop_instance' ERR
  add_ctl
  for n in "${NODES[@]}"; do add_node "$n"; done
  flock -u 9

  {
    echo "127.0.0.1 localhost"
    echo "$(addr_of ctl) ctl"
    for n in "${NODES[@]}"; do echo "$(addr_of "$n") $n"; done
  } >"$dir/hosts"
  for n in "${NODES[@]}"; do
    mkdir -p "$dir/nodes/$n/tmp" "$dir/nodes/$n/shm" "$dir/spool/$n"
    chmod 1777 "$dir/nodes/$n/tmp" "$dir/nodes/$n/shm"
  done
  chmod 755 "$dir" "$dir/spool" "$dir"/spool/*

  chmod 700 "$dir/munge"
  dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
  chmod 400 "$dir/munge/munge.key"
  nsenter --net="/run/netns/$ns_ctl" /usr/sbin/munged --force --key-file="$dir/munge/munge.key" \
    --socket="$dir/munge/munge.socket" --pid-file="$dir/munge/munged.pid" --log-file="$dir/log/munged.log" \
    --seed-file="$dir/munge/munged.seed"
  chmod 755 "$dir/munge" # the socket is used by every node's daemons and jobs

  nodelist=$(
    IFS=,
    echo "${NODES[*]}"
  )
  {
    cat <<CONF
ClusterName=tlsweepmn$K
SlurmctldHost=ctl($(addr_of ctl))
SlurmctldPort=6817
SlurmdPort=6818
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.socket,cred_expire=10
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool/%n
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd-%n.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd-%n.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=2,bf_interval=2
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SlurmdParameters=config_overrides
MpiDefault=none
ReturnToService=2
JobRequeue=1
SlurmdTimeout=10
KillWait=5
MinJobAge=3600
InactiveLimit=0
TmpFS=/tmp
CONF
    for n in "${NODES[@]}"; do
      echo "NodeName=$n NodeHostname=$n NodeAddr=$(addr_of "$n") CPUs=$CPUS_PER_NODE State=UNKNOWN"
    done
    echo "PartitionName=test Nodes=$nodelist Default=YES MaxTime=INFINITE State=UP"
  } >"$dir/slurm.conf"
  export SLURM_CONF=$dir/slurm.conf

  # shellcheck disable=SC2016 # expanded by that sh
  nsenter --net="/run/netns/$ns_ctl" unshare --uts -- /bin/sh -c 'hostname ctl && exec /usr/sbin/slurmctld -f "$1"' \
    sh "$SLURM_CONF"
  for n in "${NODES[@]}"; do start_slurmd "$n"; done
  want=$(for n in "${NODES[@]}"; do printf '%s idle ' "$n"; done)
  wait_idle "$want" || {
    "$0" stop "$dir"
    exit 1
  }
  trap - ERR
  echo "SLURM_CONF=$SLURM_CONF"
  echo "TLSWEEP_MULTINODE_NODES=$nodelist"
  echo "TLSWEEP_MULTINODE_SUBNET=$net.0/24"
  echo "OMPI_MCA_btl_tcp_if_include=$net.0/24"
  echo "OMPI_MCA_oob_tcp_if_include=$net.0/24"
  ;;
stop)
  load_instance || exit 0
  stop_instance
  ;;
crash)
  node=${3:?node}
  check_node "$node"
  load_instance || {
    say "no cluster in $dir"
    exit 2
  }
  # the link first, so that no process's end reaches the other nodes: a power
  # loss, not a clean shutdown (slurmctld finds out after SlurmdTimeout)
  ip -n "$ns_ctl" link set "$node" down
  mapfile -t pids < <(ip netns pids "$(ns_of "$node")")
  [ ${#pids[@]} -eq 0 ] || kill -KILL "${pids[@]}" 2>/dev/null || true
  wait_gone "${pids[@]}" || say "processes of $node survived SIGKILL"
  rm -f "$dir/run/slurmd-$node.pid"
  ;;
boot)
  node=${3:?node}
  check_node "$node"
  load_instance || {
    say "no cluster in $dir"
    exit 2
  }
  ip -n "$ns_ctl" link set "$node" up
  start_slurmd "$node"
  ;;
exec)
  node=${3:?node}
  check_node "$node"
  load_instance || {
    say "no cluster in $dir"
    exit 2
  }
  shift 3
  in_node "$node" "$@"
  ;;
*)
  echo "usage: multinode.sh start|stop DIR; multinode.sh crash|boot DIR NODE; multinode.sh exec DIR NODE CMD..." >&2
  exit 2
  ;;
esac

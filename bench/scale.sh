#!/usr/bin/env bash
# Scale benchmark (issue 4, "What must show it works" 4): one brine-master and
# N brine-minion processes on loopback, then the same with stock Salt 3007.8
# (salt-master + SALT_N salt-minions from .salt-venv) for comparison.
#
# For each fleet it reports:
#   - seconds from starting the minions until all N keys are accepted
#     (auto_accept: True; the master accepts a key in the minion's _auth,
#     which answers with the session key) and until all N answer a ping;
#   - seconds for `brine '*' test.ping` (resp. `salt '*' test.ping`) to
#     collect all N returns, once the fleet is up (median of PINGS runs);
#   - master RSS when idle (after the pings) and its peak (VmHWM; for Salt's
#     many master processes, the sum over them), master PSS idle;
#   - per-minion RSS and PSS (median over the minions; a minion is its
#     process group, so Salt's job/keepalive children count) and the totals;
#   - how many such minions fit in this machine's available memory
#     (MemAvailable before the run, minus the idle master, divided by the
#     median minion PSS).
# and prints one summary table at the end (Markdown).
#
# Usage: bench/scale.sh
#   N=1000            brine-minions to start (0 skips the Brine fleet)
#   SALT_N=50         salt-minions to start (0 skips the Salt fleet)
#   PINGS=3           timed pings per fleet
#   KEYS=shared       shared: one RSA key pair generated beforehand and copied
#                     into every minion's pki_dir (startup then measures the
#                     protocol, not key generation); self: every minion
#                     generates its own key on first start
#   BRINE_BIN_DIR=dir directory holding brine-master, brine-minion, brine
#                     (default: build and use target/release)
#   SALT_BIN_DIR=dir  directory holding salt-master, salt-minion, salt
#                     (default: .salt-venv/bin)
#   UP_TIMEOUT=600    seconds allowed for a fleet to come up
#   UP_PING_T=5       -t of the pings repeated until all answer (a ping sent
#                     before a minion's subscription is up is lost for it)
#   LOG_LEVEL=warning log_level_logfile of every daemon (info shows each
#                     minion's sign-in times in its minion.log)
#   KEEP=1            keep the scratch directory (configs, logs)
# Every process started here runs in its own session and is killed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD

N=${N:-1000}
SALT_N=${SALT_N:-50}
PINGS=${PINGS:-3}
KEYS=${KEYS:-shared}
UP_TIMEOUT=${UP_TIMEOUT:-600}
UP_PING_T=${UP_PING_T:-5}
LOG_LEVEL=${LOG_LEVEL:-warning}
SALT_BIN_DIR=${SALT_BIN_DIR:-$REPO/.salt-venv/bin}
PY=${PYTHON:-python3}
case $KEYS in shared | self) ;; *) echo "scale.sh: KEYS must be shared or self" >&2; exit 2 ;; esac

# Descriptors: every minion holds a few sockets to the master, and the master
# one per minion connection (plus its own).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if (( $(ulimit -n) < 4 * (N > SALT_N ? N : SALT_N) + 256 )); then
    echo "scale.sh: WARNING: ulimit -n is $(ulimit -n), low for $N minions" >&2
fi

if (( N > 0 )) && [ -z "${BRINE_BIN_DIR:-}" ]; then
    cargo build --release -q -p brine-master -p brine-minion --bins
    BRINE_BIN_DIR=$REPO/target/release
fi
if (( N > 0 )); then
    for b in brine-master brine-minion brine; do
        [ -x "$BRINE_BIN_DIR/$b" ] || { echo "scale.sh: no $BRINE_BIN_DIR/$b" >&2; exit 1; }
    done
fi
if (( SALT_N > 0 )); then
    for b in salt-master salt-minion salt; do
        [ -x "$SALT_BIN_DIR/$b" ] || {
            echo "scale.sh: no $SALT_BIN_DIR/$b (run scripts/test.sh once to create .salt-venv, or SALT_N=0)" >&2
            exit 1
        }
    done
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/brine-bench-scale.XXXXXX")
PIDS=() # session leaders started by this script
cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill -KILL -- "-$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    if [ -n "${KEEP:-}" ]; then echo "scratch kept in $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now() { echo "$EPOCHREALTIME"; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
mem_available() { awk '/^MemAvailable:/ { print $2 * 1024 }' /proc/meminfo; }

# Memory of process groups: prints "rss_kib pss_kib hwm_kib" summed over
# every process whose process group is in the given list, one line per
# group, in the order given.
group_mem() {
    "$PY" - "$@" <<'EOF'
import os, sys
want = [int(a) for a in sys.argv[1:]]
acc = {g: [0, 0, 0] for g in want}
for d in os.listdir("/proc"):
    if not d.isdigit():
        continue
    try:
        with open(f"/proc/{d}/stat") as f:
            stat = f.read()
        pgrp = int(stat[stat.rfind(")") + 2:].split()[2])
        if pgrp not in acc:
            continue
        rss = hwm = pss = 0
        with open(f"/proc/{d}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
                elif line.startswith("VmHWM:"):
                    hwm = int(line.split()[1])
        with open(f"/proc/{d}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    pss = int(line.split()[1])
    except (OSError, ValueError, IndexError):
        continue
    a = acc[pgrp]
    a[0] += rss
    a[1] += pss
    a[2] += hwm
for g in want:
    print(*acc[g])
EOF
}

# Median and sum of one column of group_mem output (KiB -> MiB).
col_stats() { # column file -> "median_mib total_mib"
    awk -v c="$1" '{ print $c }' "$2" | sort -n | awk '
        { v[NR] = $1; t += $1 }
        END { if (NR == 0) { print "0 0"; exit }
              m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
              printf "%.1f %.1f\n", m / 1024, t / 1024 }'
}

# Count of minions that returned `true` in --out json output (one document
# per minion; a minion printed twice counts once).
count_true() { { grep -oE '"[^"]+": true' "$1" || true; } | sort -u | wc -l; }

KEYDIR=$WORK/keys
if [ "$KEYS" = shared ]; then
    mkdir -p "$KEYDIR"
    openssl genrsa -traditional -out "$KEYDIR/minion.pem" 2048 2>/dev/null
    openssl rsa -in "$KEYDIR/minion.pem" -pubout -out "$KEYDIR/minion.pub" 2>/dev/null
    chmod 400 "$KEYDIR/minion.pem"
fi

declare -A R # results: R[flavor.metric]

# run_fleet FLAVOR COUNT BIN_DIR PREFIX
run_fleet() {
    local flavor=$1 count=$2 bin=$3 prefix=$4
    local dir=$WORK/$flavor mdir pub ret i id
    echo "== $flavor: 1 master, $count minions"
    pub=$(free_port)
    ret=$(free_port)
    while [ "$ret" = "$pub" ]; do ret=$(free_port); done
    mdir=$dir/master
    mkdir -p "$mdir" "$dir/srv/states"
    cat > "$mdir/master" <<EOF
interface: 127.0.0.1
publish_port: $pub
ret_port: $ret
user: root
root_dir: $mdir
pki_dir: $mdir/pki
cachedir: $mdir/cache
sock_dir: $mdir/sock
log_file: $mdir/master.log
pidfile: $mdir/master.pid
log_level_logfile: $LOG_LEVEL
auto_accept: True
file_roots:
  base:
    - $dir/srv/states
EOF
    local extra=""
    [ "$flavor" = salt ] && extra=$'multiprocessing: False\n'
    for ((i = 1; i <= count; i++)); do
        printf -v id 'm%04d' "$i"
        local d=$dir/minions/$id
        mkdir -p "$d/pki"
        cat > "$d/minion" <<EOF
id: $id
master: 127.0.0.1
master_port: $ret
publish_port: $pub
user: root
root_dir: $d
pki_dir: $d/pki
cachedir: $d/cache
sock_dir: $d/sock
log_file: $d/minion.log
pidfile: $d/minion.pid
log_level_logfile: $LOG_LEVEL
acceptance_wait_time: 1
acceptance_wait_time_max: 5
${extra}grains:
  bench: scale
EOF
        if [ "$KEYS" = shared ]; then
            cp -p "$KEYDIR/minion.pem" "$KEYDIR/minion.pub" "$d/pki/"
        fi
    done

    local avail t0 t1 master_pid
    avail=$(mem_available)
    t0=$(now)
    setsid "$bin/$prefix-master" -c "$mdir" >> "$mdir/daemon.out" 2>&1 < /dev/null &
    master_pid=$!
    PIDS+=("$master_pid")
    # The master is up when both ports accept connections.
    local up=0
    for ((i = 0; i < 600; i++)); do
        if "$PY" -c "import socket,sys; [socket.create_connection(('127.0.0.1',p),0.2).close() for p in ($pub,$ret)]" 2>/dev/null; then
            up=1
            break
        fi
        kill -0 "$master_pid" 2>/dev/null || break
        sleep 0.1
    done
    if (( !up )); then
        echo "$flavor: the master did not start; last lines of its output:" >&2
        tail -n 20 "$mdir/daemon.out" "$mdir/master.log" >&2 2>/dev/null || true
        return 1
    fi
    R[$flavor.master_start]=$(secs "$t0" "$(now)")
    sleep 1
    read -r R[$flavor.master_rss0] _ _ <<< "$(group_mem "$master_pid")"

    # The minions.
    local mpids=()
    t0=$(now)
    for ((i = 1; i <= count; i++)); do
        printf -v id 'm%04d' "$i"
        setsid "$bin/$prefix-minion" -c "$dir/minions/$id" >> "$dir/minions/$id/daemon.out" 2>&1 < /dev/null &
        PIDS+=("$!")
        mpids+=("$!")
    done
    R[$flavor.spawn]=$(secs "$t0" "$(now)")
    echo "$flavor: $count minions spawned in ${R[$flavor.spawn]}s"

    # All keys accepted.
    local accepted=0 peak_master=0
    while :; do
        accepted=$(find "$mdir/pki/minions" -maxdepth 1 -type f 2> /dev/null | wc -l)
        (( accepted >= count )) && break
        if [ "$(secs "$t0" "$(now)" | cut -d. -f1)" -ge "$UP_TIMEOUT" ]; then
            echo "$flavor: only $accepted of $count keys accepted after ${UP_TIMEOUT}s" >&2
            break
        fi
        sleep 0.2
    done
    R[$flavor.accepted]=$accepted
    R[$flavor.t_accepted]=$(secs "$t0" "$(now)")
    echo "$flavor: $accepted keys accepted after ${R[$flavor.t_accepted]}s"

    # Until one ping reaches all of them.
    local out=$dir/ping.json got=0 attempts=0
    while :; do
        attempts=$((attempts + 1))
        "$bin/$prefix" -c "$mdir" '*' test.ping --out json -t "$UP_PING_T" > "$out" 2> "$dir/ping.err" || true
        got=$(count_true "$out")
        (( got >= count )) && break
        if [ "$(secs "$t0" "$(now)" | cut -d. -f1)" -ge "$UP_TIMEOUT" ]; then
            echo "$flavor: only $got of $count answered a ping after ${UP_TIMEOUT}s" >&2
            break
        fi
        sleep 1
    done
    R[$flavor.t_all_ping]=$(secs "$t0" "$(now)")
    R[$flavor.first_ping_got]=$got
    echo "$flavor: $got of $count answered a ping after ${R[$flavor.t_all_ping]}s ($attempts pings)"

    # Timed pings.
    local times=() k t
    for ((k = 1; k <= PINGS; k++)); do
        t1=$(now)
        "$bin/$prefix" -c "$mdir" '*' test.ping --out json -t 60 > "$out" 2> "$dir/ping.err" || true
        t=$(secs "$t1" "$(now)")
        got=$(count_true "$out")
        times+=("$t")
        echo "$flavor: ping $k: $got of $count returns in ${t}s"
        R[$flavor.ping_got]=$got
    done
    R[$flavor.ping]=$(printf '%s\n' "${times[@]}" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
    R[$flavor.ping_all]=$(IFS=' '; echo "${times[*]}")

    # Memory when idle: 15 s after the last job (a brine-minion closes a
    # request connection unused for 5 s; brine-master trims its heap every
    # 10 s).
    sleep 15
    read -r R[$flavor.master_rss] R[$flavor.master_pss] R[$flavor.master_hwm] <<< "$(group_mem "$master_pid")"
    group_mem "${mpids[@]}" > "$dir/minion-mem.txt"
    local alive
    alive=$(awk '$1 > 0' "$dir/minion-mem.txt" | wc -l)
    awk '$1 > 0' "$dir/minion-mem.txt" > "$dir/minion-mem-alive.txt"
    R[$flavor.alive]=$alive
    read -r R[$flavor.rss_med] R[$flavor.rss_tot] <<< "$(col_stats 1 "$dir/minion-mem-alive.txt")"
    read -r R[$flavor.pss_med] R[$flavor.pss_tot] <<< "$(col_stats 2 "$dir/minion-mem-alive.txt")"
    R[$flavor.avail]=$avail
    R[$flavor.fit]=$(awk -v a="$avail" -v m="${R[$flavor.master_pss]}" -v p="${R[$flavor.pss_med]}" \
        'BEGIN { if (p <= 0) print "-"; else printf "%d", (a / 1024 - m) / 1024 / p }')
    R[$flavor.count]=$count
    echo "$flavor: master RSS idle $(mib "${R[$flavor.master_rss]}") MiB, peak $(mib "${R[$flavor.master_hwm]}") MiB;" \
        "minion RSS median ${R[$flavor.rss_med]} MiB, PSS median ${R[$flavor.pss_med]} MiB ($alive alive)"

    # Stop this fleet before the next one (frees CPU and memory).
    local p
    for p in "$master_pid" "${mpids[@]}"; do kill -KILL -- "-$p" 2>/dev/null || true; done
    for p in "$master_pid" "${mpids[@]}"; do wait "$p" 2>/dev/null || true; done
    return 0
}

mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

flavors=()
if (( N > 0 )); then
    run_fleet brine "$N" "$BRINE_BIN_DIR" brine && flavors+=(brine) || echo "scale.sh: the Brine fleet failed" >&2
fi
if (( SALT_N > 0 )); then
    run_fleet salt "$SALT_N" "$SALT_BIN_DIR" salt && flavors+=(salt) || echo "scale.sh: the Salt fleet failed" >&2
fi
(( ${#flavors[@]} > 0 )) || exit 1

echo
echo "## Scale benchmark, $(date -u +%Y-%m-%d), $(nproc) cores, $(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo), KEYS=$KEYS"
echo
row() { # label metric [mib]
    local line="| $1 |" f v
    for f in "${flavors[@]}"; do
        v=${R[$f.$2]:-}
        if [ "${3:-}" = mib ] && [ -n "$v" ]; then v=$(mib "$v"); fi
        line+=" ${v:--} |"
    done
    echo "$line"
}
head="| |" sep="| --- |"
for f in "${flavors[@]}"; do
    case $f in brine) head+=" brine-master + brine-minion |" ;; salt) head+=" salt-master + salt-minion 3007.8 |" ;; esac
    sep+=" --- |"
done
echo "$head"
echo "$sep"
row "minions started" count
row "master up (s)" master_start
row "spawning the minions (s)" spawn
row "start -> all keys accepted (s)" t_accepted
row "keys accepted" accepted
row "start -> all answer one ping (s)" t_all_ping
row "test.ping, all returns (s, median)" ping
row "test.ping runs (s)" ping_all
row "returns in the last ping" ping_got
row "master RSS at start (MiB)" master_rss0 mib
row "master RSS idle after pings (MiB)" master_rss mib
row "master PSS idle (MiB)" master_pss mib
row "master peak RSS, VmHWM (MiB)" master_hwm mib
row "minion RSS median (MiB)" rss_med
row "minion PSS median (MiB)" pss_med
row "minions total RSS (MiB)" rss_tot
row "minions total PSS (MiB)" pss_tot
row "minions alive at the end" alive
row "minions that fit in MemAvailable (by PSS)" fit

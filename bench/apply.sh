#!/usr/bin/env bash
# Apply benchmark: generates a state tree of 1,000 file.managed states
# (contents from pillar and Jinja, written into a scratch directory), then
# applies it with salt-call 3007.8 and with the release brine-call in the same
# run: a first run (every file created, into a fresh scratch directory) and a
# no-change run right after it, REPS times for each tool. Reports the median
# wall times, the speed-ups (target: 30x for both runs) and the peak memory of
# each (/usr/bin/time -f %M), and checks that both tools succeeded on every
# state and produced the same files (paths, modes, contents).
#
# Usage: bench/apply.sh
#   STATES=1000      number of states to generate (multiple of 50)
#   REPS=3           repetitions per tool (first run + no-change run each)
#   BRINE_CALL=path  use this brine-call instead of building target/release/brine-call
#   SALT_CALL=path   use this salt-call instead of .salt-venv/bin/salt-call
#   KEEP=1           keep the generated tree and outputs (printed path)
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD

STATES=${STATES:-1000}
REPS=${REPS:-3}
SALT_CALL=${SALT_CALL:-$REPO/.salt-venv/bin/salt-call}
PER_SLS=50
N_SLS=$(( STATES / PER_SLS ))
if (( N_SLS < 1 || STATES % PER_SLS != 0 )); then
    echo "apply.sh: STATES must be a positive multiple of $PER_SLS" >&2
    exit 2
fi
if (( REPS < 1 )); then
    echo "apply.sh: REPS must be at least 1" >&2
    exit 2
fi
if [ ! -x "$SALT_CALL" ]; then
    echo "apply.sh: no salt-call at $SALT_CALL (run scripts/test.sh once to create .salt-venv)" >&2
    exit 1
fi
if [ ! -x /usr/bin/time ]; then
    echo "apply.sh: /usr/bin/time is needed for the peak memory (apt-get install time)" >&2
    exit 1
fi
if [ -z "${BRINE_CALL:-}" ]; then
    cargo build --release -q -p brine-minion --bin brine-call
    BRINE_CALL=$REPO/target/release/brine-call
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/brine-bench-apply.XXXXXX")
cleanup() { if [ -z "${KEEP:-}" ]; then rm -rf "$WORK"; else echo "tree kept in $WORK"; fi; }
trap cleanup EXIT
mkdir -p "$WORK/states" "$WORK/pillar"

# --- the tree ---------------------------------------------------------------
{
    echo "base:"
    echo "  '*':"
    for ((k = 0; k < N_SLS; k++)); do echo "    - app$k"; done
} > "$WORK/states/top.sls"
cat > "$WORK/pillar/top.sls" <<'EOF'
base:
  '*':
    - bench
EOF
cat > "$WORK/pillar/bench.sls" <<'EOF'
bench:
  owner: www-data
  settings:
    workers: 4
    listen: 0.0.0.0
  motd: |
    This host is managed by configuration management.
    Local changes will be overwritten.
EOF
for ((k = 0; k < N_SLS; k++)); do
    cat > "$WORK/states/app$k.sls" <<EOF
{% set settings = pillar['bench']['settings'] %}
{% set base = grains['scratch'] ~ '/app$k' %}
{% for i in range($PER_SLS) %}
app${k}_conf_{{ i }}:
  file.managed:
    - name: {{ base }}/conf{{ i }}.conf
    - makedirs: True
    - mode: '0644'
    - contents: |
        # generated for {{ grains['id'] }} by {{ sls }}
        index = {{ i }}
        workers = {{ settings.workers * (i + 1) }}
        listen = {{ settings.listen }}:{{ 8000 + i }}
        name = {{ ('app$k-' ~ i) | upper }}
        owner = {{ salt['pillar.get']('bench:owner', 'root') }}
        {{ pillar['bench']['motd'] | indent(8) }}
{% endfor %}
EOF
done

# One minion config per tool: own root_dir and own scratch target.
for tool in salt brine; do
    mkdir -p "$WORK/$tool/conf"
    cat > "$WORK/$tool/conf/minion" <<EOF
file_client: local
id: bench-minion
root_dir: $WORK/$tool/root
cachedir: $WORK/$tool/root/cache
pki_dir: $WORK/$tool/root/pki
sock_dir: $WORK/$tool/root/sock
log_file: $WORK/$tool/root/minion.log
file_roots:
  base:
    - $WORK/states
pillar_roots:
  base:
    - $WORK/pillar
grains:
  scratch: $WORK/$tool/out
EOF
done

# --- timing -------------------------------------------------------------------
# run TOOL PROGRAM OUT: one state.apply; prints "wall_ms peak_kb".
run() {
    local tool=$1 prog=$2 out=$3 t0 t1 rc=0
    t0=$(date +%s%N)
    /usr/bin/time -f %M -o "$out.mem" "$prog" --local -c "$WORK/$tool/conf" --out json state.apply \
        > "$out" 2> "$out.err" || rc=$?
    t1=$(date +%s%N)
    if (( rc != 0 )); then
        echo "apply.sh: $tool run failed (exit $rc):" >&2
        tail -5 "$out.err" >&2
        head -c 600 "$out" >&2
        exit 1
    fi
    echo "$(( (t1 - t0) / 1000000 )) $(tail -1 "$out.mem")"
}
median() { sort -n | awk '{a[NR] = $1} END {if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
# check OUT EXPECTED_CHANGED: every state succeeded, EXPECTED_CHANGED of them changed.
check() {
    local out=$1 want_changed=$2 ok changed
    ok=$(jq '[.local[] | select(.result == true)] | length' "$out")
    changed=$(jq '[.local[] | select(.changes != {})] | length' "$out")
    if [ "$ok" != "$STATES" ] || [ "$changed" != "$want_changed" ]; then
        echo "apply.sh: $out: $ok of $STATES states succeeded, $changed changed (want $want_changed)" >&2
        exit 1
    fi
}

echo "apply.sh: $STATES file.managed states in $N_SLS SLS files; $REPS first + no-change runs per tool"
declare -A FIRST NOCHANGE MEM
for tool in salt brine; do
    prog=$SALT_CALL
    [ "$tool" = brine ] && prog=$BRINE_CALL
    : > "$WORK/$tool.first" ; : > "$WORK/$tool.again" ; : > "$WORK/$tool.mem"
    for ((r = 0; r < REPS; r++)); do
        # Move the last run's files aside instead of deleting them: on a
        # no-journal ext4 (this VM's), creating files within ~30 s of
        # deleting many others is slow in the kernel (`recently_deleted`
        # in the inode allocator), which would time `rm -rf`, not the tool.
        if [ -e "$WORK/$tool/out" ]; then
            mkdir -p "$WORK/old" && mv "$WORK/$tool/out" "$WORK/old/$tool.$r"
        fi
        read -r ms kb < <(run "$tool" "$prog" "$WORK/$tool/first.json")
        check "$WORK/$tool/first.json" "$STATES"
        echo "$ms" >> "$WORK/$tool.first"; echo "$kb" >> "$WORK/$tool.mem"
        read -r ms kb < <(run "$tool" "$prog" "$WORK/$tool/again.json")
        check "$WORK/$tool/again.json" 0
        echo "$ms" >> "$WORK/$tool.again"; echo "$kb" >> "$WORK/$tool.mem"
    done
    FIRST[$tool]=$(median < "$WORK/$tool.first")
    NOCHANGE[$tool]=$(median < "$WORK/$tool.again")
    MEM[$tool]=$(sort -n "$WORK/$tool.mem" | tail -1)
done

# The same files: relative paths, types, modes and contents.
listing() { (cd "$1" && find . -printf '%y %m %p\n' | sort); }
if [ "$(listing "$WORK/salt/out")" = "$(listing "$WORK/brine/out")" ] &&
    diff -r "$WORK/salt/out" "$WORK/brine/out" > /dev/null; then
    SAME=yes
else
    SAME=NO
fi
FILES=$(find "$WORK/salt/out" -type f | wc -l)

echo "files written per run:         $FILES"
echo "same files (paths/modes/text): $SAME"
printf '%-22s %12s %12s %14s\n' "" "first run" "no-change" "peak memory"
for tool in salt brine; do
    printf '%-22s %9.1f ms %9.1f ms %11d KB\n' "$tool-call (median)" "${FIRST[$tool]}" "${NOCHANGE[$tool]}" "${MEM[$tool]}"
done
awk -v s="${FIRST[salt]}" -v b="${FIRST[brine]}" 'BEGIN { if (b <= 0) b = 0.5; printf "speed-up, first run:     %.1fx (target: >= 30x)\n", s / b }'
awk -v s="${NOCHANGE[salt]}" -v b="${NOCHANGE[brine]}" 'BEGIN { if (b <= 0) b = 0.5; printf "speed-up, no-change run: %.1fx (target: >= 30x)\n", s / b }'
awk -v s="${MEM[salt]}" -v b="${MEM[brine]}" 'BEGIN { if (b <= 0) b = 1; printf "memory ratio:            %.1fx less\n", s / b }'
if [ "$SAME" != yes ]; then
    echo "apply.sh: WARNING: the two tools wrote different files (KEEP=1 to inspect $WORK/{salt,brine}/out)" >&2
    exit 1
fi

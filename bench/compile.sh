#!/usr/bin/env bash
# Compile benchmark: generates a state tree of 1,000 file.managed states (with
# contents, requisites, Jinja loops and pillar/grains lookups), then times
# `state.show_lowstate` end to end (process start to JSON printed) with
# salt-call 3007.8 and with the release brine-call, checks that both print the
# same JSON, and reports the medians and the speed-up.
#
# Usage: bench/compile.sh
#   STATES=1000      number of states to generate (multiple of 50)
#   SALT_REPS=5      salt-call repetitions
#   BRINE_REPS=20    brine-call repetitions
#   BRINE_CALL=path  use this brine-call instead of building target/release/brine-call
#   SALT_CALL=path   use this salt-call instead of .salt-venv/bin/salt-call
#   KEEP=1           keep the generated tree (printed path)
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD

STATES=${STATES:-1000}
SALT_REPS=${SALT_REPS:-5}
BRINE_REPS=${BRINE_REPS:-20}
SALT_CALL=${SALT_CALL:-$REPO/.salt-venv/bin/salt-call}
PER_SLS=50
N_SLS=$(( STATES / PER_SLS ))
if (( N_SLS < 1 || STATES % PER_SLS != 0 )); then
    echo "compile.sh: STATES must be a positive multiple of $PER_SLS" >&2
    exit 2
fi
if [ ! -x "$SALT_CALL" ]; then
    echo "compile.sh: no salt-call at $SALT_CALL (run scripts/test.sh once to create .salt-venv)" >&2
    exit 1
fi
if [ -z "${BRINE_CALL:-}" ]; then
    cargo build --release -q -p brine-minion --bin brine-call
    BRINE_CALL=$REPO/target/release/brine-call
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/brine-bench.XXXXXX")
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
  group: www-data
  settings:
    workers: 4
    listen: 0.0.0.0
EOF
for ((k = 0; k < N_SLS; k++)); do
    f=$WORK/states/app$k.sls
    # 25 states from a Jinja loop, each requiring the previous one.
    cat > "$f" <<EOF
{% set owner = salt['pillar.get']('bench:owner', 'root') %}
{% set settings = pillar['bench']['settings'] %}
{% set base = '/srv/bench/app$k' %}
{% for i in range(25) %}
app${k}_loop_{{ i }}:
  file.managed:
    - name: {{ base }}/loop{{ i }}.conf
    - user: {{ owner }}
    - group: {{ pillar['bench']['group'] }}
    - mode: '0644'
    - contents: |
        # generated for {{ grains['id'] }} by {{ sls }}
        index = {{ i }}
        workers = {{ settings.workers * (i + 1) }}
        name = {{ ('app$k-' ~ i) | upper }}
{% if i > 0 %}
    - require:
      - file: app${k}_loop_{{ i - 1 }}
{% endif %}
{% endfor %}
EOF
    # 25 literal states with watch/onchanges on the loop states.
    for ((i = 0; i < 25; i++)); do
        cat >> "$f" <<EOF
app${k}_static_$i:
  file.managed:
    - name: /srv/bench/app$k/static$i.conf
    - makedirs: True
    - contents:
      - line one of $i
      - listen {{ settings.listen }}:$((8000 + i))
    - watch:
      - file: app${k}_loop_$((i % 25))
EOF
        if (( i % 5 == 0 )); then
            cat >> "$f" <<EOF
    - onchanges:
      - file: app${k}_loop_0
EOF
        fi
    done
done

cat > "$WORK/minion" <<EOF
file_client: local
id: bench-minion
root_dir: $WORK/root
cachedir: $WORK/root/cache
pki_dir: $WORK/root/pki
sock_dir: $WORK/root/sock
log_file: $WORK/root/minion.log
file_roots:
  base:
    - $WORK/states
pillar_roots:
  base:
    - $WORK/pillar
grains:
  roles:
    - bench
EOF
mkdir -p "$WORK/conf" && mv "$WORK/minion" "$WORK/conf/minion"

# --- timing -------------------------------------------------------------------
# Runs "$@" $1 times, prints the wall time of each run in milliseconds.
time_runs() {
    local reps=$1 out=$2; shift 2
    local i t0 t1
    for ((i = 0; i < reps; i++)); do
        t0=$(date +%s%N)
        "$@" > "$out" 2> "$out.err" || { echo "compile.sh: '$*' failed:" >&2; tail -5 "$out.err" >&2; exit 1; }
        t1=$(date +%s%N)
        echo $(( (t1 - t0) / 1000000 ))
    done
}
median() { sort -n | awk '{a[NR] = $1} END {if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

ARGS=(--local -c "$WORK/conf" --out json state.show_lowstate)
echo "compile.sh: $STATES states in $N_SLS SLS files; salt-call x$SALT_REPS, brine-call x$BRINE_REPS"
# One warm-up run each (file system caches, Python bytecode).
"$SALT_CALL" "${ARGS[@]}" > "$WORK/salt.json" 2>/dev/null || true
"$BRINE_CALL" "${ARGS[@]}" > "$WORK/brine.json" 2>/dev/null || true
SALT_MS=$(time_runs "$SALT_REPS" "$WORK/salt.json" "$SALT_CALL" "${ARGS[@]}" | median)
BRINE_MS=$(time_runs "$BRINE_REPS" "$WORK/brine.json" "$BRINE_CALL" "${ARGS[@]}" | median)

LOW=$(grep -c '"__id__"' "$WORK/salt.json" || true)
if cmp -s "$WORK/salt.json" "$WORK/brine.json"; then SAME=yes; else SAME=NO; fi
echo "low chunks compiled by salt-call: $LOW"
echo "outputs identical:                $SAME"
printf 'salt-call  median: %8.1f ms\n' "$SALT_MS"
printf 'brine-call median: %8.1f ms\n' "$BRINE_MS"
awk -v s="$SALT_MS" -v b="$BRINE_MS" 'BEGIN { if (b <= 0) b = 0.5; printf "speed-up: %.1fx (target: >= 50x)\n", s / b }'
if [ "$SAME" != yes ]; then
    echo "compile.sh: WARNING: brine-call's output differs from salt-call's (KEEP=1 to inspect $WORK/*.json)" >&2
fi

#!/usr/bin/env bash
# Brine's test command: makes sure the reference Salt 3007.8 is installed in the
# project-local venv .salt-venv (used by the differential suite), builds
# brine-call, then runs every test of the workspace.
#
# Usage: scripts/test.sh [extra cargo test args]
#   SALT_VENV=path   use another venv location (default: .salt-venv)
#   PYTHON=python3   interpreter used to create the venv
set -euo pipefail
cd "$(dirname "$0")/.."

SALT_VERSION=3007.8
VENV=${SALT_VENV:-.salt-venv}
VENV=${VENV%/}
case $VENV in /*) ;; *) VENV="$PWD/$VENV" ;; esac
PYTHON=${PYTHON:-python3}

have_salt() {
    [ -x "$VENV/bin/python" ] || return 1
    local v
    v=$("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("salt"))' 2>/dev/null) || return 1
    [ "$v" = "$SALT_VERSION" ] || return 1
    "$VENV/bin/python" -c 'import salt.version, jinja2, yaml, msgpack, tornado, zmq, looseversion, distro, psutil' 2>/dev/null
}

if have_salt; then
    echo "test.sh: salt $SALT_VERSION already in $VENV"
else
    echo "test.sh: installing salt $SALT_VERSION into $VENV"
    if [ ! -x "$VENV/bin/python" ]; then
        rm -rf "$VENV"
        "$PYTHON" -m venv "$VENV" || {
            echo "test.sh: ERROR: '$PYTHON -m venv $VENV' failed (on Debian: apt-get install python3-venv)" >&2
            exit 1
        }
    fi
    # --no-deps: Salt pins a certifi version that no longer resolves; the
    # requirements file lists the full, pinned dependency set instead.
    if ! "$VENV/bin/python" -m pip install --disable-pip-version-check --no-input \
        --no-deps -r scripts/salt-requirements.txt; then
        echo "test.sh: ERROR: installing Salt $SALT_VERSION into $VENV failed" >&2
        exit 1
    fi
    if ! have_salt; then
        echo "test.sh: ERROR: $VENV has no working salt $SALT_VERSION after install" >&2
        exit 1
    fi
fi
"$VENV/bin/salt-call" --version

# System tools the real-effect tests use (apt/dpkg for pkg, update-rc.d's
# insserv for service, crontab for cron, dpkg-scanpackages for the local apt
# repository). Installed only when missing and only as root.
need=()
command -v insserv >/dev/null 2>&1 || [ -x /usr/sbin/insserv ] || [ -x /sbin/insserv ] || need+=(insserv)
command -v crontab >/dev/null 2>&1 || need+=(cron)
command -v dpkg-scanpackages >/dev/null 2>&1 || need+=(dpkg-dev)
if [ ${#need[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "test.sh: installing ${need[*]}"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null ||
            { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null; } ||
            echo "test.sh: WARNING: could not install ${need[*]}; the tests that need them will say so" >&2
    else
        echo "test.sh: WARNING: ${need[*]} missing and cannot be installed (not root or no apt-get)" >&2
    fi
fi
export SALT_CALL="$VENV/bin/salt-call"

# The differential, apply and e2e suites run target/debug/brine-call and the
# daemons and CLIs: build them first (a test cannot build another crate's
# binary itself).
cargo build -p brine-minion -p brine-master --bins
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
cargo test --workspace --no-fail-fast "$@" 2>&1 | tee "$log" || status=$?
# One closing line for the whole run: cargo's last "test result" line is a
# doc-test run with no tests, which reads as if nothing ran. The differential
# runners report their cases in their own "differential: N passed, N failed"
# and "apply: N passed, N failed" lines.
awk '
    /^test result:/ { for (i = 1; i <= NF; i++) { if ($(i) ~ /^passed/) p += $(i-1); if ($(i) ~ /^failed/) f += $(i-1) } }
    /^(differential|apply|e2e): [0-9]+ passed, [0-9]+ failed/ { p += $2; f += $4 }
    END { printf "all: %d passed, %d failed\n", p, f }
' "$log"
exit "$status"

#!/usr/bin/env bash
# The feature's postCreate hook: wait for the Docker socket, then `bootstrap up`.
set -u
# shellcheck source=/dev/null
. /usr/local/share/bootstrap/options.env

LOG_DIR="${XDG_STATE_HOME:-$HOME/.local/state}/bootstrap"
mkdir -p "$LOG_DIR" 2>/dev/null || LOG_DIR=/tmp
LOG="$LOG_DIR/post-create.log"

if [ "${BOOTSTRAP_FROM_WORKSPACE:-false}" = true ] && [ ! -x /usr/local/share/bootstrap/venv/bin/bootstrap ]; then
    # No wheel was bundled (the repository's own dev container): install it from here.
    echo "bootstrap: installing bootstrap from the workspace ($PWD)"
    if ! /usr/local/share/bootstrap/venv/bin/python -m pip install --disable-pip-version-check \
        --no-cache-dir -q "$PWD" >"$LOG" 2>&1; then
        echo "bootstrap: installing from the workspace failed; details in $LOG" >&2
        exit 1
    fi
fi

if [ "$BOOTSTRAP_BRING_UP" != "true" ]; then
    echo "bootstrap: bring-up is off (feature option bringUp=false)"
    exit 0
fi

if ! command -v docker >/dev/null 2>&1; then
    echo "bootstrap: WARNING: no docker CLI in this container, so the stack is not brought up;" >&2
    echo "bootstrap: add the docker-outside-of-docker feature (installed before this one)." >&2
    exit 0
fi

# A known race: dockerd (or the socket proxy) may not answer yet when postCreate runs.
for _ in $(seq 1 120); do
    if docker info >/dev/null 2>&1; then break; fi
    sleep 0.5
done
if ! docker info >/dev/null 2>&1; then
    docker info >"$LOG" 2>&1
    echo "bootstrap: the Docker socket does not answer after 60 s; details in $LOG" >&2
    exit 1
fi

args=()
[ -n "$BOOTSTRAP_PROJECT_NAME" ] && args+=(-p "$BOOTSTRAP_PROJECT_NAME")
IFS=',' read -ra files <<<"$BOOTSTRAP_COMPOSE_FILES"
for file in "${files[@]}"; do [ -n "$file" ] && args+=(-f "$file"); done
IFS=',' read -ra profiles <<<"$BOOTSTRAP_PROFILES"
for profile in "${profiles[@]}"; do [ -n "$profile" ] && args+=(--profile "$profile"); done

bootstrap "${args[@]}" up --join-network --timeout "$BOOTSTRAP_TIMEOUT" 2>&1 | tee "$LOG"
status=${PIPESTATUS[0]}
if [ "$status" != 0 ] && [ "$status" != 5 ]; then
    echo "bootstrap: up failed with exit code $status; the log is $LOG" >&2
    exit "$status"
fi
exit 0

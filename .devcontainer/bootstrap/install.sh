#!/usr/bin/env bash
# Installs bootstrap into its own virtual environment (/usr/local/share/bootstrap/venv) and
# bakes the feature's options into the postCreate hook. Idempotent; runs as root.
set -e

VERSION="${VERSION:-bundled}"
PROFILES="${PROFILES:-}"  # empty means: no profile (or COMPOSE_PROFILES)
BRINGUP="${BRINGUP:-true}"
COMPOSEFILES="${COMPOSEFILES:-}"
PROJECTNAME="${PROJECTNAME:-}"
TIMEOUT="${TIMEOUT:-300}"
CACHEUID="${CACHEUID:-1000}"
CACHEGID="${CACHEGID:-1000}"
REMOTE_USER="${_REMOTE_USER:-root}"
PREFIX=/usr/local/share/bootstrap
FEATURE_DIR="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"

say() { echo "bootstrap feature: $*"; }

if [ "$(id -u)" != 0 ]; then
    say "install.sh must run as root"; exit 1
fi

# Debian/Ubuntu bases without Python: python3-venv from apt.
if ! command -v python3 >/dev/null 2>&1 || ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
    if ! command -v apt-get >/dev/null 2>&1; then
        say "no python3 with venv and no apt-get: install python3 and python3-venv first"; exit 1
    fi
    say "installing python3-venv with apt"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends python3 python3-venv ca-certificates >/dev/null
    rm -rf /var/lib/apt/lists/*
fi

mkdir -p "$PREFIX"
if [ ! -x "$PREFIX/venv/bin/python" ]; then
    python3 -m venv "$PREFIX/venv"
fi
PIP=("$PREFIX/venv/bin/python" -m pip install --disable-pip-version-check --no-cache-dir -q)
FROM_WORKSPACE=false
if [ "$VERSION" = "bundled" ] || [ "$VERSION" = "latest" ]; then
    wheel="$(ls "$FEATURE_DIR"/dist/compose_bootstrap-*.whl 2>/dev/null | sort -V | tail -n 1)"
    if [ -n "$wheel" ]; then
        say "installing $(basename "$wheel")"
        "${PIP[@]}" --upgrade "$wheel"
    else
        # The repository's own dev container, from a fresh clone: no wheel is bundled, so the
        # postCreate hook installs bootstrap from the workspace (which is not mounted yet).
        say "no bundled wheel: bootstrap is installed from the workspace at postCreate"
        FROM_WORKSPACE=true
        if [ "$REMOTE_USER" != root ] && id "$REMOTE_USER" >/dev/null 2>&1; then
            chown -R "$REMOTE_USER" "$PREFIX/venv"
        fi
    fi
else
    say "installing compose-bootstrap==$VERSION from PyPI"
    "${PIP[@]}" --upgrade "compose-bootstrap==$VERSION"
fi
ln -sf "$PREFIX/venv/bin/bootstrap" /usr/local/bin/bootstrap

# The cache mount point belongs to the dev user, so a new (empty) named volume mounted here
# takes that owner: a root-owned cache breaks uv for a non-root user.
for dir in /cache/uv /cache/pip /cache/npm; do
    mkdir -p "$dir"
    chown "$CACHEUID:$CACHEGID" "$dir"
    chmod 2775 "$dir"
done

# Hooks cannot read options: bake them into the hook, outside /tmp.
cat > "$PREFIX/options.env" <<OPTIONS
BOOTSTRAP_PROFILES=$(printf '%q' "$PROFILES")
BOOTSTRAP_BRING_UP=$(printf '%q' "$BRINGUP")
BOOTSTRAP_COMPOSE_FILES=$(printf '%q' "$COMPOSEFILES")
BOOTSTRAP_PROJECT_NAME=$(printf '%q' "$PROJECTNAME")
BOOTSTRAP_TIMEOUT=$(printf '%q' "$TIMEOUT")
BOOTSTRAP_REMOTE_USER=$(printf '%q' "$REMOTE_USER")
BOOTSTRAP_FROM_WORKSPACE=$FROM_WORKSPACE
OPTIONS
install -m 0755 "$FEATURE_DIR/post-create.sh" "$PREFIX/post-create.sh"
# Keep the feature itself, so `bootstrap-feature-reinstall` can repair an installation.
if [ "$FEATURE_DIR" != "$PREFIX/feature" ]; then
    rm -rf "$PREFIX/feature"
    mkdir -p "$PREFIX/feature"
    cp -R "$FEATURE_DIR/." "$PREFIX/feature/"
fi
ln -sf "$PREFIX/feature/install.sh" /usr/local/bin/bootstrap-feature-reinstall
if [ "$FROM_WORKSPACE" = true ]; then
    say "prepared $PREFIX/venv for $REMOTE_USER; the postCreate hook installs the workspace"
else
    say "installed $("$PREFIX/venv/bin/bootstrap" --version) for $REMOTE_USER"
fi

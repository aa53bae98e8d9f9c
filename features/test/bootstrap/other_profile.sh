#!/bin/bash
set -e
source dev-container-features-test-lib

check "profiles baked" grep -q 'BOOTSTRAP_PROFILES=build\\,dashboards' /usr/local/share/bootstrap/options.env
check "compose files baked" grep -q "BOOTSTRAP_COMPOSE_FILES=compose.yaml" /usr/local/share/bootstrap/options.env
check "bootstrap --version as vscode" bash -c "bootstrap --version | grep -q 'bootstrap, version'"
check "without a docker CLI the hook warns and lets the container start" bash -c \
    "PATH=/usr/local/bin:/usr/bin:/bin /usr/local/share/bootstrap/post-create.sh 2>&1 | grep -q 'no docker CLI'"

reportResults

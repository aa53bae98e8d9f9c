#!/bin/bash
set -e
source dev-container-features-test-lib

check "runs as dev" bash -c '[ "$(id -un)" = dev ]'
check "bootstrap --version as dev" bash -c "bootstrap --version | grep -q 'bootstrap, version'"
check "python3-venv came from apt" test -x /usr/local/share/bootstrap/venv/bin/python
check "the cache mount point belongs to 1001" bash -c '[ "$(stat -c %u /cache/pip)" = 1001 ]'

reportResults

#!/bin/bash
set -e
source dev-container-features-test-lib

check "a second install succeeds" sudo env BRINGUP=false _REMOTE_USER=vscode bootstrap-feature-reinstall
check "still one venv, still working" bash -c "bootstrap --version | grep -q 'bootstrap, version'"
check "cache still writable by vscode" bash -c "touch /cache/uv/.probe && rm /cache/uv/.probe"

reportResults

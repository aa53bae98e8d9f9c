#!/bin/bash
set -e
source dev-container-features-test-lib

check "runs as vscode" bash -c '[ "$(id -un)" = vscode ]'
check "bootstrap --version as vscode" bash -c "bootstrap --version | grep -q 'bootstrap, version'"
check "bring-up is off" grep -q "BOOTSTRAP_BRING_UP=false" /usr/local/share/bootstrap/options.env
check "the hook says so and succeeds" bash -c "/usr/local/share/bootstrap/post-create.sh | grep -q 'bring-up is off'"
check "uv cache writable by vscode" bash -c "touch /cache/uv/.probe && rm /cache/uv/.probe"

reportResults

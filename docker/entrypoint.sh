#!/bin/sh
# The server runs in a clone of the repository (it reads models.yaml from Git and fetches
# artifacts through DVC). Mount one at /repo, or set MLOPS_GIT_URL to clone it on first start.
set -e
if [ ! -d /repo/.git ]; then
    if [ -z "$MLOPS_GIT_URL" ]; then
        echo "entrypoint: mount a clone of the repository at /repo or set MLOPS_GIT_URL" >&2
        exit 2
    fi
    git clone --quiet "$MLOPS_GIT_URL" /repo
fi
cd /repo
exec mlops serve --env "${MLOPS_ENV:-production}" --host 0.0.0.0 --port "${MLOPS_PORT:-8100}" "$@"

#!/bin/sh
# The server runs in a clone of the repository (it reads models.yaml from Git and fetches
# artifacts through DVC). Mount one at /repo, or set MLOPS_GIT_URL to clone it on first start.
# Pinned mode (KServe): the command is given (`mlops serve-pinned`); run it as it is.
set -e
if [ "$1" = "mlops" ]; then
    exec "$@"
fi
if [ ! -d /repo/.git ]; then
    if [ -z "$MLOPS_GIT_URL" ]; then
        echo "entrypoint: mount a clone of the repository at /repo or set MLOPS_GIT_URL" >&2
        exit 2
    fi
    git clone --quiet "$MLOPS_GIT_URL" /repo
fi
cd /repo
exec mlops serve --env "${MLOPS_ENV:-production}" --host 0.0.0.0 --port "${MLOPS_PORT:-8100}" "$@"

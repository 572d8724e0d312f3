#!/bin/sh
# The server runs in a clone of the repository (it reads models.yaml from Git and fetches
# artifacts through DVC). Mount one at /repo, or set MLOPS_GIT_URL to clone it on first start.
#
# A mounted clone usually belongs to another uid than the container's user (10001): git then
# refuses it ("dubious ownership"). The clone is marked safe here, for this container's user
# only, because the operator chose to mount it; the server also writes its state (.mlops/) and
# prediction logs into it, so it must be writable: run with `--user "$(id -u):$(id -g)"` (the
# owner's uid) or make the clone writable for uid 10001.
#
# MLOPS_DVC_REMOTE (e.g. s3://bucket/dvc) points DVC's default remote at that URL (local
# config of the clone); `mlops serve` applies it before the first sync.
# Pinned mode (KServe): the command is given (`mlops serve-pinned`); run it as it is.
set -e
if [ "$1" = "mlops" ]; then
    exec "$@"
fi
REPO="${MLOPS_REPO:-/repo}"
if [ ! -d "$REPO/.git" ]; then
    if [ -z "$MLOPS_GIT_URL" ]; then
        echo "entrypoint: mount a clone of the repository at $REPO or set MLOPS_GIT_URL" >&2
        exit 2
    fi
    git clone --quiet "$MLOPS_GIT_URL" "$REPO"
fi
if [ "$(stat -c %u "$REPO")" != "$(id -u)" ]; then
    echo "entrypoint: $REPO belongs to uid $(stat -c %u "$REPO"), this container runs as" \
        "uid $(id -u): marking it a git safe.directory" >&2
    git config --global --get-all safe.directory | grep -qx "$REPO" \
        || git config --global --add safe.directory "$REPO"
fi
if [ ! -w "$REPO" ]; then
    echo "entrypoint: $REPO is not writable for uid $(id -u); the server writes .mlops/ and" \
        "logs/ there. Run the container with --user set to the clone's owner" \
        "(--user \"\$(id -u):\$(id -g)\") or make the clone writable" >&2
    exit 2
fi
cd "$REPO"
exec mlops serve --env "${MLOPS_ENV:-production}" --host 0.0.0.0 --port "${MLOPS_PORT:-8100}" "$@"

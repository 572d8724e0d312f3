# The model server image, in one of two modes.
#
# 1. GitOps mode (the default; one machine, `serving.target: local`): `mlops serve` for one
#    environment in a clone of the repository. It follows models.yaml on origin/main and fetches
#    artifacts from the DVC remote (give it the remote's credentials, e.g. AWS_* for S3;
#    MLOPS_DVC_REMOTE=s3://... sets the remote's URL). A mounted clone owned by another uid is
#    marked a git safe.directory by the entrypoint; it must be writable (run with
#    --user "$(id -u):$(id -g)").
#
#      docker build -t churn-serve .
#      docker run -p 8100:8100 -e MLOPS_ENV=production -e MLOPS_SYNC_TOKEN=... \
#          -e MLOPS_GIT_URL=https://github.com/ORG/REPO.git churn-serve
#
#    The container clones the repository (or uses one mounted at /repo). Extra arguments go to
#    `mlops serve` (e.g. `--sync-interval 10`).
#
# 2. Pinned mode (Kubernetes, `serving.target: kserve`): `mlops serve-pinned` serves one model
#    file with no Git and no DVC. KServe's storage initializer downloads the file named by
#    STORAGE_URI (its DVC content address) into /mnt/models (a local-folder remote is read
#    from a PersistentVolumeClaim, mounted as /mnt/models instead); the server checks its sha256
#    against MLOPS_MODEL_DIGEST before loading it. `mlops render` writes all of this into
#    deploy/<env>/<model>.yaml; by hand it is:
#
#      docker run -p 8080:8080 -e MLOPS_PORT=8080 -v $PWD/model.skops:/mnt/models/model.skops:ro \
#          -e MLOPS_MODEL_FILE=/mnt/models/model.skops -e MLOPS_MODEL_VERSION=v1.3.0 \
#          -e MLOPS_MODEL_DIGEST=sha256:... -e MLOPS_MODEL_THRESHOLD=0.5 -e MLOPS_MODEL_NAME=churn-model \
#          churn-serve mlops serve-pinned
#
#    Same request validation, batching, /metrics, /predict and Open Inference Protocol (V2)
#    endpoints; the prediction log goes to stdout with MLOPS_LOG_DIR=- (what `mlops render`
#    sets, for the cluster's log collector), else to MLOPS_STATE_DIR/logs/predictions (mount a
#    volume there, or set MLOPS_LOG_DIR to an absolute path on one). Not ready (503 on
#    /v2/health/ready) until the file is verified and warmed up, so KServe keeps the previous
#    revision serving when a file is missing or wrong.
FROM python:3.11-slim AS build
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PROJECT_ENVIRONMENT=/app/.venv
RUN pip install --no-cache-dir uv==0.13.9
WORKDIR /app
# dependencies first: this layer is rebuilt only when the lock file changes
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project
COPY src ./src
RUN uv sync --frozen --no-dev

FROM python:3.11-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends git \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 mlops \
    && mkdir /repo && chown mlops /repo
COPY --from=build /app /app
COPY docker/entrypoint.sh /usr/local/bin/mlops-serve-entrypoint
ENV PATH=/app/.venv/bin:$PATH PYTHONUNBUFFERED=1 MLOPS_ENV=production MLOPS_PORT=8100 \
    MLOPS_STATE_DIR=/tmp/mlops
USER mlops
WORKDIR /repo
EXPOSE 8100 8080 8081
HEALTHCHECK --interval=10s --timeout=3s --start-period=90s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ[\"MLOPS_PORT\"]}/healthz', timeout=2)"
ENTRYPOINT ["mlops-serve-entrypoint"]

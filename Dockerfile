# The model server: `mlops serve` for one environment, from the locked environment.
#
#   docker build -t churn-serve .
#   docker run -p 8100:8100 -e MLOPS_ENV=production -e MLOPS_SYNC_TOKEN=... \
#       -e MLOPS_GIT_URL=https://github.com/ORG/REPO.git churn-serve
#
# The container clones the repository (or uses one mounted at /repo), follows models.yaml on
# origin/main and fetches artifacts from the DVC remote (give it the remote's credentials, e.g.
# AWS_* for S3; MLOPS_DVC_REMOTE=s3://... sets the remote's URL). Extra arguments go to
# `mlops serve` (e.g. `--sync-interval 10`). A mounted clone owned by another uid is marked a git
# safe.directory by the entrypoint; it must be writable (run with --user "$(id -u):$(id -g)").
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
ENV PATH=/app/.venv/bin:$PATH PYTHONUNBUFFERED=1 MLOPS_ENV=production MLOPS_PORT=8100
USER mlops
WORKDIR /repo
EXPOSE 8100
HEALTHCHECK --interval=10s --timeout=3s --start-period=90s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ[\"MLOPS_PORT\"]}/healthz', timeout=2)"
ENTRYPOINT ["mlops-serve-entrypoint"]

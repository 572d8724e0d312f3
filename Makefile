# Two commands on a fresh machine with only python3 and git:  make demo  |  make test
# Everything else (uv, the locked virtual environment, the data) is set up on the way, once.

SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
# Stages run as `python -m mlops.stages.X`: the locked environment comes first on PATH.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
# The environment is not byte-compiled at install (pyproject.toml [tool.uv]): each module's
# bytecode is written the first time it is imported. A shell that sets PYTHONDONTWRITEBYTECODE
# would make every run compile its imports again (imports ~10x slower), so it is not passed on.
unexport PYTHONDONTWRITEBYTECODE
export UV_PROJECT_ENVIRONMENT := $(VENV)

.DEFAULT_GOAL := help
.PHONY: help setup data demo test test-fast test-data lint docs bench proto clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

# uv goes into its own small environment; with the system's pip when there is one (2 s), else
# with the environment's own pip (5 s).
$(UV):
	@echo "setup: installing uv $(UV_VERSION) into $(TOOLS)/ (once)"
	@$(PYTHON) -m venv --without-pip $(TOOLS)
	@$(PYTHON) -m pip --python $(TOOLS)/bin/python install --quiet --disable-pip-version-check \
	  uv==$(UV_VERSION) 2>/dev/null \
	|| { $(TOOLS)/bin/python -m ensurepip --default-pip >/dev/null \
	  && $(TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION); }

# The venv is rebuilt from the lock file only when the lock or pyproject changed. Its bytecode is
# written here for the packages the commands, stages, servers and tests import, less those
# packages' own tests (7,600 of the environment's 34,000 modules, ~10 s on 2 cores; all of them
# took 30 s); the rest is written the first time it is imported. Compiling once up front also
# spares the first test run many processes compiling the same modules at once.
COMPILED := src $(addprefix $(VENV)/lib/python*/site-packages/,\
	_pytest aiobotocore aiohttp amqp anyio antlr4 attr boto3 botocore celery \
	check_jsonschema click cryptography dateutil dulwich dvc dvc_data dvc_objects evidently \
	fastapi flask fsspec funcy gevent google gto grpc h11 httpcore httpx hydra hypothesis jinja2 \
	joblib kombu litestar markdown markdown_it matplotlib mkdocs msgspec narwhals networkx \
	nltk numpy omegaconf opentelemetry pandas pandera pathspec PIL prometheus_client \
	pyarrow pydantic pydantic_settings pygit2 pygments pyparsing pyrate_limiter requests rich \
	ruamel s3transfer schemathesis scipy scmrepo skops sklearn starlette treelite tritonclient \
	typeguard typer urllib3 uvicorn wcwidth websockets werkzeug wrapt xdist yaml)
$(VENV)/.synced: uv.lock pyproject.toml | $(UV)
	@echo "setup: creating $(VENV)/ from uv.lock"
	@$(UV) sync --frozen --quiet
	@$(VENV)/bin/python -m compileall -q -j 0 -x 'site-packages/.*/tests/' $$(ls -d $(COMPILED) 2>/dev/null) >/dev/null
	@touch $@

setup: $(VENV)/.synced ## install the locked environment (idempotent)

# The table's path is contract.yaml's `data:` (written by `mlops data adopt`).
DATA_FILE := $(shell sed -n 's/^data: *//p' contract.yaml)

$(DATA_FILE): data.dvc | $(VENV)/.synced
	@$(VENV)/bin/mlops data restore

data: $(DATA_FILE) ## restore the data pinned by data.dvc (dvc pull, or regenerate and verify)

demo: setup data ## run the main job (the whole GitOps loop in a sandbox)
	@$(VENV)/bin/mlops demo

# The browser test of `mlops site` needs Chromium: installed once with apt-get where it can be
# (root, or passwordless sudo: CI); elsewhere that one test is skipped and says why.
CHROMIUM := /usr/bin/chromium
$(CHROMIUM):
	@if command -v chromium google-chrome >/dev/null; then exit 0; \
	elif command -v apt-get >/dev/null && { [ "$$(id -u)" = 0 ] || sudo -n true 2>/dev/null; }; then \
	  echo "setup: installing chromium with apt-get (once), for the browser test of mlops site"; \
	  sudo=$$([ "$$(id -u)" = 0 ] || echo sudo -n); \
	  $$sudo apt-get install -y -qq chromium >/dev/null 2>&1 \
	  || { $$sudo apt-get update -qq && $$sudo apt-get install -y -qq chromium >/dev/null; } \
	  || echo "setup: chromium could not be installed; the browser test will be skipped"; \
	else echo "setup: no chromium and no apt-get as root; the browser test will be skipped"; fi

# The workspace's own table is checked against its contract when it can be restored (the bundled
# sample always can); an adopted table whose DVC remote is out of reach only skips that check.
# Two workers (-n 2): expensive fixtures are built once per session and shared (tests/conftest.py).
# BROWSER= skips installing Chromium (CI groups that do not run tests/site/test_browser.py).
BROWSER := $(CHROMIUM)
PYTEST := $(VENV)/bin/python -m pytest -n 2 --dist loadgroup
# The fast tier: unit, contract and data tests, and your own (tests/team/): no `dvc repro`, no
# server, no browser. Integration and end-to-end tests are marked (tests/conftest.py marks every
# test that uses a reproduced repository).
FAST := -m "not integration and not e2e"

test-data:
	@$(MAKE) --no-print-directory data \
	  || echo "test: $(DATA_FILE) could not be restored; its contract check will be skipped"

test: setup $(BROWSER) test-data ## run the whole test suite
	@$(PYTEST) $(PYTEST_ARGS)

test-fast: setup test-data ## the inner loop: unit, contract, data and tests/team/ (no dvc repro, no server)
	@$(PYTEST) $(FAST) $(PYTEST_ARGS)

lint: setup ## the pre-commit hooks: ruff, import contracts (lint-imports), schemas, zizmor
	@$(VENV)/bin/pre-commit run --all-files

# The reference pages (CLI, file formats, metrics) are generated from the code first; --strict
# fails on a broken link or anchor. NO_MKDOCS_2_WARNING: Material's notice about its successor.
docs: setup ## build the documentation site into site-docs/ (reference generated from the code)
	@$(VENV)/bin/python docs/gen/reference.py
	@NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet
	@echo "docs: site-docs/index.html"

bench: setup data ## pipeline benchmark; the others are listed in benchmarks/README.md
	@$(VENV)/bin/python benchmarks/pipeline.py

proto: setup ## regenerate the gRPC messages from src/mlops/serve/proto/inference.proto
	@$(VENV)/bin/python -m mlops.serve.proto.generate

clean: ## remove the environments and outputs made here (keeps the DVC cache)
	rm -rf $(TOOLS) $(VENV) artifacts .pytest_cache .ruff_cache site-docs docs/reference

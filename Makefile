# closeloop — every command a developer or CI needs. `make help` lists them.
#
# Nothing is installed by hand: the first target that needs a tool bootstraps it. The project's
# environment (.venv) comes from uv.lock; tools whose pins conflict with it (cfn-lint, aws-sam-cli)
# live in their own environments under .tools/. The sandbox (and so the demo, the benchmark and the tests
# that provision template.yaml) runs the SAM transform with .tools/sam's interpreter.

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
UV_VERSION := 0.13.9
UV := .tools/uv/bin/uv
PY := .venv/bin/python
VENV_STAMP := .venv/.synced

export UV_PYTHON := $(shell command -v $(PYTHON))

include $(wildcard make/*.mk)

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | sort | awk 'BEGIN {FS = ":.*## "}; {printf "  %-22s %s\n", $$1, $$2}'

$(UV):
	$(PYTHON) -m venv .tools/uv
	.tools/uv/bin/pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

$(VENV_STAMP): $(UV) pyproject.toml uv.lock
	$(UV) sync --locked --quiet
	@touch $@

.PHONY: install
install: $(VENV_STAMP) ## create .venv from uv.lock (project, dev tools and the closeloop command)

.PHONY: lock
lock: $(UV) ## re-resolve uv.lock after a dependency change, then regenerate the layer requirements
	$(UV) lock
	$(MAKE) layer

# Three workers on two cores: the e2e tests spend most of their time waiting for sandbox processes, so a
# third worker fills the idle CPU (two workers kept it about 40 % busy each).
.PHONY: test
test: check runtime browser-deps .tools/sam/.stamp ## every gate (make check), then the whole suite, functions in the layer-only runtime
	$(PY) -m pytest -n 3 --dist loadgroup

.PHONY: screenshots
screenshots: runtime browser-deps .tools/sam/.stamp ## retake the survey page and report screenshots in docs/img (the browser tests)
	CLOSELOOP_SCREENSHOTS=docs $(PY) -m pytest -q tests/e2e/test_survey_browser.py tests/e2e/test_report_browser.py

.PHONY: test-fast
test-fast: $(VENV_STAMP) .tools/sam/.stamp ## unit tests only (no moto, no sockets; the template checks read SAM's policy templates)
	$(PY) -m pytest tests/unit -q

.PHONY: lint
lint: $(VENV_STAMP) ## ruff, mypy (strict on functions/) and the lexicon's format
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy
	$(PY) tools/format_lexicon.py --check

.PHONY: check
check: lint lint-template layer-check ## every gate: ruff, mypy, cfn-lint (template and SAM-transformed), sam validate --lint, layer pins

.PHONY: schemas
schemas: $(VENV_STAMP) ## regenerate events/schemas/ from the event models
	.venv/bin/closeloop schemas --out events/schemas

.PHONY: openapi
openapi: $(VENV_STAMP) ## regenerate docs/openapi.json from the HTTP API's routes
	.venv/bin/closeloop openapi

.PHONY: sandbox
sandbox: $(VENV_STAMP) runtime .tools/sam/.stamp ## run the whole stack locally (moto on :4566, HTTP API on :3000, replies by SMTP on :2525); Ctrl-C stops it
	.venv/bin/closeloop sandbox

.PHONY: demo
demo: $(VENV_STAMP) runtime .tools/sam/.stamp ## run the scripted story on the local sandbox and show what happened
	.venv/bin/closeloop demo

.PHONY: bench
bench: $(VENV_STAMP) runtime .tools/sam/.stamp ## measure cold start, planning, rendering and throughput; writes docs/PERFORMANCE.md
	$(PY) -m closeloop_cli.bench --write docs/PERFORMANCE.md

.PHONY: clean
clean: ## remove environments, build output and sandbox state
	rm -rf .venv .tools .aws-sam .sandbox .pytest_cache .mypy_cache .ruff_cache

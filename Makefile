# Two commands do all the set-up: `make test` and `make run` (see README.md).
# `make help` lists every target: a line `target: ... ## text` is its help line.
.DEFAULT_GOAL := help

# Lambda runs CPython 3.13 (Chalice takes the runtime from the Python that
# packages the app), so the venv, the tests, the local stack and CI run 3.13 too.
PYTHON_VERSION := 3.13
comma := ,
PYTHON_VERSION_TUPLE := ($(subst .,$(comma),$(PYTHON_VERSION)))
# python3.13 on PATH (a pyenv shim with no 3.13 selected does not count), else
# the newest pyenv 3.13.x. PYTHON=/path/to/python3.13 overrides.
FOUND_PYTHON := $(shell for p in python$(PYTHON_VERSION) \
	$$(ls -d $${PYENV_ROOT:-$$HOME/.pyenv}/versions/$(PYTHON_VERSION).*/bin/python$(PYTHON_VERSION) \
	        /root/.pyenv/versions/$(PYTHON_VERSION).*/bin/python$(PYTHON_VERSION) 2>/dev/null | sort -rV); do \
	"$$p" -c 'import sys; sys.exit(sys.version_info[:2] != $(PYTHON_VERSION_TUPLE))' >/dev/null 2>&1 \
	&& { command -v "$$p"; break; }; done)
PYTHON ?= $(FOUND_PYTHON)
NO_PYTHON := make: Python $(PYTHON_VERSION) not found (neither python$(PYTHON_VERSION) on PATH nor ~/.pyenv/versions/$(PYTHON_VERSION).*): install it, or give PYTHON=/path/to/python$(PYTHON_VERSION)
VENV := .venv
BIN := $(VENV)/bin
# The venv is reinstalled whenever a lock changes (requirements*.txt are only
# the inputs of `make lock`).
LOCKS := requirements.lock requirements-dev.lock
STAMP := $(VENV)/.installed-py$(PYTHON_VERSION)-$(shell cat $(LOCKS) | cksum | cut -d' ' -f1)
# checkov, the template scan of `make lint` and its test, in a venv of its own: its pins
# (packaging<24, boto3 1.35) conflict with the dev lock's (requirements-scan.txt).
SCAN_VENV := .venv-scan
SCAN_LOCK := requirements-scan.lock
SCAN_STAMP := $(SCAN_VENV)/.installed-py$(PYTHON_VERSION)-$(shell cat $(SCAN_LOCK) | cksum | cut -d' ' -f1)

.PHONY: help install test lint lock run demo

help: ## this list
	@awk 'BEGIN {FS = ":[^#]*## "} /^[a-zA-Z_-]+:[^#]*## / {printf "  make %-15s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): $(LOCKS)
	@test -n "$(PYTHON)" || { echo "$(NO_PYTHON)" >&2; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != $(PYTHON_VERSION_TUPLE))' \
		|| { echo "make: PYTHON=$(PYTHON) is not Python $(PYTHON_VERSION) (Lambda's runtime)" >&2; exit 1; }
	@$(BIN)/python -c 'import sys; sys.exit(sys.version_info[:2] != $(PYTHON_VERSION_TUPLE))' 2>/dev/null \
		|| { echo "creating $(VENV) with $(PYTHON)"; rm -rf $(VENV) && $(PYTHON) -m venv $(VENV); }
	@echo "installing requirements-dev.lock into $(VENV) (hash-checked) ..."
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements-dev.lock
	rm -f $(VENV)/.installed-*
	touch $@

$(SCAN_STAMP): $(SCAN_LOCK)
	@test -n "$(PYTHON)" || { echo "$(NO_PYTHON)" >&2; exit 1; }
	@$(SCAN_VENV)/bin/python -c 'import sys; sys.exit(sys.version_info[:2] != $(PYTHON_VERSION_TUPLE))' 2>/dev/null \
		|| { echo "creating $(SCAN_VENV) with $(PYTHON)"; rm -rf $(SCAN_VENV) && $(PYTHON) -m venv $(SCAN_VENV); }
	@echo "installing $(SCAN_LOCK) into $(SCAN_VENV) (hash-checked) ..."
	$(SCAN_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes -r $(SCAN_LOCK)
	rm -f $(SCAN_VENV)/.installed-*
	touch $@

install: $(STAMP) $(SCAN_STAMP) ## create .venv and .venv-scan (Python 3.13) from requirements-dev.lock and requirements-scan.lock

test: $(STAMP) $(SCAN_STAMP) ## every test, offline
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

# ruff (lint and format check) and mypy, configured in pyproject.toml, and checkov on
# both stages' packaged templates (infra/scan.py: an unsuppressed finding fails); runs
# all four, then fails naming those that failed.
lint: $(STAMP) $(SCAN_STAMP) ## ruff check, ruff format --check, mypy, checkov (dev and prod templates)
	@failed=""; \
	$(BIN)/ruff check . || failed="$$failed ruff-check"; \
	$(BIN)/ruff format --check . || failed="$$failed ruff-format"; \
	$(BIN)/mypy || failed="$$failed mypy"; \
	$(BIN)/python -m infra.scan --checkov $(SCAN_VENV)/bin/checkov || failed="$$failed checkov"; \
	if [ -n "$$failed" ]; then echo "make lint: failed:$$failed"; exit 1; fi

# Resolves every package again (needs PyPI). uv is requirements-dev.txt's pin,
# installed first when the venv has no such uv yet (the first lock).
lock: ## requirements.lock and requirements-dev.lock from the pinned requirements*.txt (uv)
	@test -n "$(PYTHON)" || { echo "$(NO_PYTHON)" >&2; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@uv=$$(grep -E '^uv==' requirements-dev.txt); \
	$(BIN)/python -m pip show uv 2>/dev/null | grep -qx "Version: $${uv#uv==}" \
		|| $(BIN)/python -m pip install --quiet --disable-pip-version-check "$$uv"
	$(BIN)/python -m infra.lock --uv $(BIN)/uv

# Deployment (docs/deploy.md). STAGE is dev or prod.
STAGE ?= dev
.PHONY: package deploy

# The deployable template and code of $(STAGE) in build/$(STAGE)/ (template.json).
package: $(STAMP) ## the template and code of STAGE (dev|prod) in build/STAGE/, for Lambda arm64 Python 3.13
	$(BIN)/python -m infra.package --stage $(STAGE)

# The whole stage as one CloudFormation stack; safe to run again.
deploy: package ## package, then deploy STAGE as one CloudFormation stack (safe to run again)
	STAGE=$(STAGE) PYTHON=$(BIN)/python scripts/deploy.sh

# The whole service offline on 127.0.0.1, in the foreground; Ctrl-C stops it.
# Ports, credentials and URLs come from the environment (README "Run it locally").
run: $(STAMP) ## the whole service offline on 127.0.0.1, in the foreground
	$(BIN)/python -m devstack.run

# The README's pictures (docs/both-pages.png, chat-page.png, phone-page.png), shot in headless
# chromium from a stack of their own on free ports (devstack/screenshot.py).
.PHONY: screenshots
screenshots: $(STAMP) ## the README's screenshots of the chat and phone pages, in docs/
	$(BIN)/python -m devstack.screenshot

# What real traffic needs, as a checklist with the fix for each failure (scripts/doctor.py):
# against a running `make run` by default, against a deployed stage with STAGE=dev|prod.
.PHONY: doctor
doctor: $(STAMP)
	$(BIN)/python scripts/doctor.py $(if $(filter file,$(origin STAGE)),,--stage $(STAGE))

# A short conversation through the API, against a running `make run`.
demo: $(STAMP) ## a short conversation through a running `make run`
	$(BIN)/python -m devstack.demo

# The three harnesses of bench/ (bench/README.md), each over bench/kit/: the sender's
# simulation (bench/sender/: issue 4's scenarios in virtual time and issue 14's capacity study,
# alone `make capacity-bench`), the service's benchmarks and fault run (bench/service/), and
# the pool's month (bench/pool/, issue 5; alone `make pool-bench`). Each prints its figures
# even when another missed a goal; the target exits non-zero at the end if any missed one.
.PHONY: bench pool-bench pool-report capacity-bench
bench: $(STAMP) ## every benchmark with its goals (exit 1 if one missed)
	@missed=""; \
	$(BIN)/python -m bench.sender $(BENCH_ARGS) || missed="$$missed sender"; \
	$(BIN)/python -m bench.service $(SERVICE_BENCH_ARGS) || missed="$$missed service"; \
	$(BIN)/python -m bench.pool $(POOL_BENCH_ARGS) || missed="$$missed pool"; \
	if [ -n "$$missed" ]; then echo "make bench: goals missed in:$$missed"; exit 1; fi

# The capacity study behind docs/capacity.md (bench/sender/capacity.py; also the last part of
# `python -m bench.sender`).
capacity-bench: $(STAMP) ## the capacity study alone (docs/capacity.md)
	$(BIN)/python -m bench.sender --only capacity

pool-bench: $(STAMP) ## the pool's simulated month alone
	$(BIN)/python -m bench.pool $(POOL_BENCH_ARGS)

# The pool's cost report (GET /numbers/stats) as a table, from a running bridge
# (`make run`, or BRIDGE_URL and BRIDGE_TOKEN); REPORT_ARGS="--from 2026-06-01 --to 2026-06-30".
pool-report: $(STAMP) ## the pool's cost report from a running bridge
	$(BIN)/python scripts/pool_report.py $(REPORT_ARGS)

# Move dead-lettered messages of $(STAGE)'s queues back to their source queues, printing
# each (scripts/replay_dlq.py; REPLAY_ARGS="--queue delivery --dry-run" to look first).
.PHONY: replay-dlq
replay-dlq: $(STAMP) ## move STAGE's dead-lettered messages back to their queues
	$(BIN)/python scripts/replay_dlq.py --stage $(STAGE) $(REPLAY_ARGS)

# Two commands do all the set-up: `make test` and `make run` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)

.PHONY: install test run demo

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	rm -f $(VENV)/.installed-*
	touch $@

install: $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

# Deployment (docs/deploy.md). STAGE is dev or prod.
STAGE ?= dev
.PHONY: package deploy

# The deployable template and code of $(STAGE) in build/$(STAGE)/ (template.json).
package: $(STAMP)
	$(BIN)/python -m infra.package --stage $(STAGE)

# The whole stage as one CloudFormation stack; safe to run again.
deploy: package
	STAGE=$(STAGE) PYTHON=$(BIN)/python scripts/deploy.sh

# The whole service offline on 127.0.0.1, in the foreground; Ctrl-C stops it.
# Ports, credentials and URLs come from the environment (README "Run it locally").
run: $(STAMP)
	$(BIN)/python -m devstack.run

# What real traffic needs, as a checklist with the fix for each failure (scripts/doctor.py):
# against a running `make run` by default, against a deployed stage with STAGE=dev|prod.
.PHONY: doctor
doctor: $(STAMP)
	$(BIN)/python scripts/doctor.py $(if $(filter file,$(origin STAGE)),,--stage $(STAGE))

# A short conversation through the API, against a running `make run`.
demo: $(STAMP)
	$(BIN)/python -m devstack.demo

# The sender's simulation (bench/): issue 4's scenarios in virtual time, their figures;
# the service's benchmarks; last the pool's month (bench/pool_sim.py, issue 5; alone:
# `make pool-bench`). Each prints its figures even when another missed a goal; the
# target exits non-zero at the end if any missed one.
.PHONY: bench pool-bench pool-report
bench: $(STAMP)
	@missed=""; \
	$(BIN)/python -m bench $(BENCH_ARGS) || missed="$$missed sender"; \
	$(BIN)/python -m bench.service_bench $(SERVICE_BENCH_ARGS) || missed="$$missed service"; \
	$(BIN)/python -m bench.pool_sim $(POOL_BENCH_ARGS) || missed="$$missed pool"; \
	if [ -n "$$missed" ]; then echo "make bench: goals missed in:$$missed"; exit 1; fi

pool-bench: $(STAMP)
	$(BIN)/python -m bench.pool_sim $(POOL_BENCH_ARGS)

# The pool's cost report (GET /numbers/stats) as a table, from a running bridge
# (`make run`, or BRIDGE_URL and BRIDGE_TOKEN); REPORT_ARGS="--from 2026-06-01 --to 2026-06-30".
pool-report: $(STAMP)
	$(BIN)/python scripts/pool_report.py $(REPORT_ARGS)

# Move dead-lettered messages of $(STAGE)'s queues back to their source queues, printing
# each (scripts/replay_dlq.py; REPLAY_ARGS="--queue delivery --dry-run" to look first).
.PHONY: replay-dlq
replay-dlq: $(STAMP)
	$(BIN)/python scripts/replay_dlq.py --stage $(STAGE) $(REPLAY_ARGS)

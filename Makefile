# The one entry point for people: make run, make test, make bench, make golden, make lint.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
export TZ := UTC
export LC_ALL := C.UTF-8

.PHONY: run test bench golden lint clean

# pip's and setuptools' chatter goes to a log, shown only if the install fails.
$(VENV)/.installed: pyproject.toml
	@echo "Installing ANNAobserva and its test tools into $(VENV)/ (log: $(VENV)/install.log)"
	@$(PYTHON) -m venv $(VENV)
	@( $(PY) -m pip install --upgrade pip && $(PY) -m pip install -e '.[test,bench]' ) \
		> $(VENV)/install.log 2>&1 || { tail -n 40 $(VENV)/install.log; exit 1; }
	@touch $@

## run: build the sample issues into _site/ and deliver the latest one to the demo subscribers' outbox
run: $(VENV)/.installed
	$(PY) publish.py demo

## test: the whole suite (starts moto, aiosmtpd and Chromium itself)
test: $(VENV)/.installed
	$(PY) -m pytest

## bench: side-by-side benchmarks against the named peers, printed as ratios
bench: $(VENV)/.installed
	$(PY) -m bench

## golden: refresh the golden files after a reviewed change (read the diff before committing)
golden: $(VENV)/.installed
	ANNAOBSERVA_REFRESH_GOLDEN=1 $(PY) -m pytest tests -k golden -q

## lint: ruff, and the import contracts in pyproject.toml (layers, no cycles, public names only)
lint: $(VENV)/.installed
	$(VENV)/bin/ruff check newsletter tests bench publish.py
	$(VENV)/bin/lint-imports

clean:
	rm -rf _site .cache outbox reports

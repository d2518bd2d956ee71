# The README's two commands: `make book` and `make test`. Each sets up .venv itself.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PY := $(VENV)/bin/python
DATASET ?= avdigits-pretrained
PROFILE ?= full
DATA_DIR ?=
STAMP := $(VENV)/.installed

.PHONY: book test reproduce html lint clean help setup wheel-check bench browser

help:
	@echo "make book  - set up .venv, run every notebook (DATASET=$(DATASET) PROFILE=$(PROFILE)), build _build/html"
	@echo "make test  - set up .venv, run ruff, the import contracts, mypy and the test-suite"
	@echo "make browser - install headless Chromium for the browser test (Debian's chromium, as root; never fails)"
	@echo "make bench - set up .venv, run the benchmarks (benchmarks/bench_*.py) into results/bench_*.csv (about 10 min)"
	@echo "make wheel-check - build the wheel and sdist, install the wheel in fresh environments (core, then [book]) and smoke-test it"
	@echo "make clean - remove build outputs (keeps .venv and the data cache)"

setup: $(STAMP)

# The venv is (re)built whenever the pinned requirements or the package metadata change. The
# set-up's wall time goes into the venv (setup.json), where the build report reads it to state the
# time of a `make book` from a fresh clone against its budget (paper_lib.pipeline.book).
$(STAMP): requirements.txt pyproject.toml
	@start=$$(date +%s); \
	{ test -x $(PY) || $(PYTHON) -m venv $(VENV); } && \
	$(PY) -m pip install --quiet --upgrade pip && \
	$(PY) -m pip install --quiet -r requirements.txt && \
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e . && \
	echo "{\"seconds\": $$(( $$(date +%s) - start ))}" > $(VENV)/setup.json && \
	touch $@

# The quick profile runs first (cached after the first time) so that the build report records
# the wall time of both profiles; then the book is built from the chosen profile.
book: $(STAMP)
	$(VENV)/bin/paper-lib reproduce --dataset $(DATASET) --profile quick $(if $(DATA_DIR),--data-dir $(DATA_DIR),)
	$(VENV)/bin/paper-lib book --dataset $(DATASET) --profile $(PROFILE) $(if $(DATA_DIR),--data-dir $(DATA_DIR),)

reproduce: $(STAMP)
	$(VENV)/bin/paper-lib reproduce --dataset $(DATASET) --profile $(PROFILE) $(if $(DATA_DIR),--data-dir $(DATA_DIR),)

test: $(STAMP)
	$(VENV)/bin/ruff check paper_lib notebooks tests benchmarks .ci/smoke.py
	@# the architecture (layers, no import circle; pyproject.toml [tool.importlinter]) and the types
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy
	@# pytest exits 5 when it collected no test: treat that as a failure, not a pass.
	@# -n auto: one xdist worker per core, each with its share of threads (tests/conftest.py);
	@# loadgroup keeps the tests of the one quick book build on one worker
	@$(PY) -m pytest -q -n auto --dist loadgroup tests; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests" >&2; exit 1; fi; exit $$rc
	@# the docstrings' Examples (shown in the API reference)
	$(PY) -m pytest -q --doctest-modules paper_lib

# headless Chromium for the browser test (tests/test_browser.py drives it over the DevTools
# protocol: no WebDriver needed), from Debian's packages (as root, e.g. in CI). Never fails: where
# it cannot be installed, the browser test skips and says what is missing.
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium \
	  >/dev/null; } || echo "make browser: could not install chromium; the browser test will skip" >&2

# every benchmark (one process per question) into results/bench_*.csv, read by the Performance
# chapter; torchmetrics is a comparison only, installed here and not part of the pinned set
bench: $(STAMP)
	$(PY) -m pip install --quiet -r benchmarks/requirements.txt
	$(PY) -m benchmarks

# build the sdist and the wheel, install the wheel with the core only and then with [book] in a
# fresh virtual environment, smoke-test it and run one notebook (.ci/wheel_check.sh)
wheel-check: $(STAMP)
	PY=$(abspath $(PY)) bash .ci/wheel_check.sh

clean:
	rm -rf _build results

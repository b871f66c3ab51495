# The two commands a newcomer needs: `make run` and `make test`.
# Both create .venv and install into it, so they work on a fresh machine.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
CONFIG ?= config.example.toml

# pytest writes its assertion-rewritten test modules (and Python the package's bytecode) to
# __pycache__ even where the environment sets PYTHONDONTWRITEBYTECODE: redoing that at every
# collection cost each xdist worker ~3 s of CPU (of ~6 s) on two cores. Git ignores them.
PYTEST := PYTHONDONTWRITEBYTECODE= $(BIN)/python -m pytest

.PHONY: run demo test test-fast test-systemd lint wheel-smoke check-config bench docs clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@ $(VENV)/.installed

run: $(VENV)/.installed
	$(BIN)/weightwatch once --config $(CONFIG)

demo: $(VENV)/.installed
	$(BIN)/weightwatch demo

lint: $(VENV)/.installed-test
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

# The package as a user installs it: build the sdist and the wheel from it (the wheel then
# holds what the sdist carries, never a stale build/ of the checkout); install the wheel
# with its dependencies (from PyPI) into a fresh venv in a temporary folder, away from the
# checkout (the venv gets no pip of its own: .venv's pip installs into it, which is
# quicker); run `weightwatch --help` and `weightwatch demo` there.
wheel-smoke: $(VENV)/.installed-test
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	echo "wheel-smoke: building in $$tmp" && \
	{ $(BIN)/python -m build --outdir "$$tmp/dist" . >"$$tmp/build.log" 2>&1 \
		|| { cat "$$tmp/build.log"; exit 1; }; } && \
	$(PYTHON) -m venv --without-pip "$$tmp/venv" && \
	{ $(BIN)/python -m pip --python "$$tmp/venv/bin/python" install -q \
		"$$tmp"/dist/weightwatch-*.whl >"$$tmp/pip.log" 2>&1 || { cat "$$tmp/pip.log"; exit 1; }; } && \
	cd "$$tmp" && env -u WEIGHTWATCH_CONFIG HOME="$$tmp" venv/bin/weightwatch --help >help.out && \
	{ env -u WEIGHTWATCH_CONFIG HOME="$$tmp" venv/bin/weightwatch demo >demo.out 2>&1 \
		|| { cat demo.out; exit 1; }; } && \
	{ grep -q "^Done: 2 alerts" demo.out || { cat demo.out; echo "wheel-smoke: the demo did not send its 2 alerts"; exit 1; }; } && \
	echo "wheel-smoke: $$(basename "$$tmp"/dist/weightwatch-*.whl) installs in a fresh venv; --help and demo run"

# Everything: lint, the installed wheel, every tier, the 15 slowest tests, branch coverage
# against its floor.
# The in-process tiers on both cores, then the system tier (real processes that mostly wait
# on real time: four workers on two cores, 140 s instead of 240 s), one coverage file.
test: lint wheel-smoke
	$(PYTEST) -q -n 2 -m "not system" --durations=15 --cov --cov-report= --cov-fail-under=0
	$(PYTEST) -q -n 4 -m system --durations=15 --cov --cov-append --cov-report=term:skip-covered

# The development loop: unit and integration tiers only (no subprocess, no corpus sweep),
# three workers on two cores (the integration tests wait on loopback sockets). (`make test` runs every tier, the system one on four workers.)
test-fast: $(VENV)/.installed-test
	$(PYTEST) -q -n 3 -m "unit or integration"

# docs/systemd.md under a real systemd 252 (PID 1 of a Debian 12 container, systemd-nspawn):
# every unit check and doc claim of ../shared/tools/systemd-lab.sh, with STRICT_DOCS=1. Needs
# root, a Debian/Ubuntu host (it apt-installs systemd-container and debootstrap when they are
# missing) and the network for debootstrap and pip; about 3.5 minutes. It tests the
# committed HEAD. Not part of `make test` or .ci/run (it installs host packages). Skips,
# saying why, when it cannot run.
SYSTEMD_LAB ?= ../shared/tools/systemd-lab.sh
test-systemd:
	@if [ "$$(id -u)" != 0 ]; then \
	  echo "test-systemd: skipped: needs root (it boots a container with systemd-nspawn)"; exit 0; fi; \
	if ! command -v systemd-nspawn >/dev/null && ! command -v apt-get >/dev/null; then \
	  echo "test-systemd: skipped: no systemd-nspawn, and no apt-get to install it"; exit 0; fi; \
	if [ ! -x "$(SYSTEMD_LAB)" ]; then \
	  echo "test-systemd: skipped: $(SYSTEMD_LAB) not found (set SYSTEMD_LAB=path/to/systemd-lab.sh)"; exit 0; fi; \
	STRICT_DOCS=1 "$(SYSTEMD_LAB)"

# docs/config.md is generated from the key tables in src/weightwatch/config/schema.py.
docs: $(VENV)/.installed
	$(BIN)/python -c 'from pathlib import Path; from weightwatch.config.reference import reference_markdown; Path("docs/config.md").write_text(reference_markdown(), encoding="utf-8")'

bench: $(VENV)/.installed-test
	$(BIN)/python bench/cycle.py

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache .mypy_cache .ruff_cache

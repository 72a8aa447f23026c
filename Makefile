# The two commands a newcomer needs: `make run` and `make test`.
# Everything else here is a building block of those two.
SHELL := /bin/bash
BOOT_PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PYTHON := $(VENV)/bin/python

.PHONY: run test lint lock clean-var

run: $(VENV)/.installed
	$(PYTHON) scripts/dev.py run

# `make test ARGS="-k lockout -x"` passes options to pytest (after the lint and migration checks).
test: $(VENV)/.installed
	$(PYTHON) scripts/dev.py test $(ARGS)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .

# Re-pin requirements.lock after editing pyproject.toml (needs network access to PyPI).
lock: $(VENV)/.installed
	$(VENV)/bin/pip install --quiet uv
	$(VENV)/bin/uv pip compile pyproject.toml --extra dev --generate-hashes \
		--python-version 3.11 --universal -o requirements.lock

# The virtualenv is rebuilt when the lock file changes; hashes are checked on every install.
$(VENV)/.installed: requirements.lock
	test -x $(PYTHON) || $(BOOT_PYTHON) -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r requirements.lock
	touch $@

# Stops the embedded PostgreSQL/Redis and deletes their data (demo data comes back on `make run`).
clean-var: $(VENV)/.installed
	$(PYTHON) scripts/dev.py down
	rm -rf var

# Two commands do all the set-up on a fresh clone: `make run` and `make test`.
PORT ?= 8000
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint format clean-db

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $@

.env:
	@$(PY) scripts/make_env.py

## make run: migrate, ensure an admin user, seed the sandbox demo, start web + worker on PORT.
run: $(STAMP) .env
	SANDBOX_ENABLED=true PUBLIC_BASE_URL=http://127.0.0.1:$(PORT) $(PY) manage.py serve --port $(PORT)

## make test: lint, format check, migrations check, type check, then the test suite.
test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	DEBUG=true $(PY) manage.py makemigrations --check --dry-run
	DEBUG=true SANDBOX_ENABLED=true $(VENV)/bin/mypy
	$(VENV)/bin/pytest

lint:
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

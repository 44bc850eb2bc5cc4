# Two commands do everything: `make run` (the app with demo data) and `make test` (the whole suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
# The app's own dependencies for `make run`; the test tools (Playwright, schemathesis, ruff, …) only for what needs
# them: `make test`, `make lint`, `make docs`.
RUNTIME_STAMP := $(VENV)/.installed-runtime
STAMP := $(VENV)/.installed

.PHONY: run test lint format migrate demo worker clean messages docs

$(RUNTIME_STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	$(BIN)/pybabel compile -d feedback/translations
	touch $@

$(STAMP): $(RUNTIME_STAMP) pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

## run: start Farewell on http://127.0.0.1:5000 (`make run PORT=5701` for another port) with demo data and a worker
# PORT reaches the app too, so that BASE_URL, and with it every link in an email, follows the port in use. Ctrl-C
# stops the server and then the worker, and the recipe ends with status 0: an interrupt is how one stops it.
PORT ?= 5000
run: export FAREWELL_ENV ?= development
run: export PORT := $(PORT)
run: $(RUNTIME_STAMP) .env
	$(BIN)/pybabel compile -d feedback/translations
	$(FLASK) db upgrade
	$(FLASK) demo
	@echo "Farewell: http://127.0.0.1:$(PORT)  (admin@example.com / farewell-demo)"
	@$(FLASK) worker --interval 2 & worker=$$!; \
	trap 'stopped=1' INT TERM; \
	$(FLASK) run --host 127.0.0.1 --port $(PORT); status=$$?; \
	kill $$worker 2>/dev/null; wait $$worker 2>/dev/null; \
	if [ -n "$$stopped" ] || [ $$status -eq 130 ]; then exit 0; else exit $$status; fi

## reset-demo: fresh demo data: the development SQLite database (instance/farewell.sqlite3) made again, migrated, loaded
# Only that file: with DATABASE_URL set (in the environment or .env) it refuses, as that database may be someone's.
.PHONY: reset-demo
reset-demo: export FAREWELL_ENV ?= development
reset-demo: $(RUNTIME_STAMP) .env
	@if [ -n "$$DATABASE_URL" ] || grep -qs '^DATABASE_URL=.' .env; then \
		echo "make reset-demo resets only the development SQLite file; DATABASE_URL is set, so nothing was removed." >&2; \
		exit 1; fi
	rm -f instance/farewell.sqlite3 instance/farewell.sqlite3-wal instance/farewell.sqlite3-shm
	$(FLASK) db upgrade
	$(FLASK) demo

# The development settings, so that `.venv/bin/flask --app wsgi …` works from the checkout after `make run`.
# Written once, never over an existing .env (it is git-ignored); wsgi.py and the flask command read it.
.env:
	@printf '# Written by make run for this machine; never commit it.\nFAREWELL_ENV=development\nSECRET_KEY=%s\n' \
		"$$($(PYTHON) -c 'import secrets; print(secrets.token_hex(32))')" > $@
	@echo "Wrote .env (FAREWELL_ENV=development and a new SECRET_KEY) for the flask command."

## test: run the whole suite in parallel (SQLite by default; set TEST_DATABASE_URL for PostgreSQL)
# One pytest-xdist worker per core, and the 15 slowest tests listed at the end. `make test PYTEST_WORKERS=0` runs in
# one process; PYTEST_ARGS adds options or picks tests: `make test PYTEST_ARGS="tests/test_auth.py -x"`.
PYTEST_WORKERS ?= auto
test: $(STAMP)
	TEST_DATABASE_URL="$(TEST_DATABASE_URL)" $(BIN)/python -m pytest -n $(PYTEST_WORKERS) --durations=15 $(PYTEST_ARGS)

## docs: write the reference tables from the code (settings, jobs, states) and build the site strictly into site/
# Under CI the tables are only compared (--check): a page that disagrees with the code fails the run.
docs: $(VENV)/.docs-installed
	$(BIN)/python scripts/docs_reference.py $(if $(CI),--check)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet

$(VENV)/.docs-installed: $(STAMP) pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[docs]'
	touch $@

lint: $(STAMP)
	$(BIN)/ruff check feedback tests scripts wsgi.py
	$(BIN)/ruff format --check feedback tests scripts wsgi.py
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff format feedback tests scripts wsgi.py
	$(BIN)/ruff check --fix feedback tests scripts wsgi.py

clean:
	rm -rf $(VENV) instance .pytest_cache test-artifacts site

## messages: extract the customer's words into messages.pot and merge them into every language's .po
messages: $(STAMP)
	$(BIN)/pybabel extract -F feedback/translations/babel.cfg -k _l --no-location --sort-output --project Farewell -o feedback/translations/messages.pot .
	$(BIN)/pybabel update -i feedback/translations/messages.pot -d feedback/translations -w 120 --no-fuzzy-matching
	$(BIN)/pybabel compile -d feedback/translations

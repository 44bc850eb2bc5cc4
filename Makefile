# Two commands do everything: `make run` (the app with demo data) and `make test` (the whole suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
STAMP := $(VENV)/.installed

.PHONY: run test lint format migrate demo worker clean messages

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	$(BIN)/pybabel compile -d feedback/translations
	touch $(STAMP)

## run: start Farewell on http://127.0.0.1:5000 with demo data and a worker (mail and periodic jobs)
run: export FAREWELL_ENV ?= development
run: $(STAMP) .env
	$(BIN)/pybabel compile -d feedback/translations
	$(FLASK) db upgrade
	$(FLASK) demo
	@echo "Farewell: http://127.0.0.1:5000  (admin@example.com / farewell-demo)"
	@$(FLASK) worker --interval 2 & worker=$$!; \
	trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	$(FLASK) run --host 127.0.0.1 --port 5000

# The development settings, so that `.venv/bin/flask --app wsgi …` works from the checkout after `make run`.
# Written once, never over an existing .env (it is git-ignored); wsgi.py and the flask command read it.
.env:
	@printf '# Written by make run for this machine; never commit it.\nFAREWELL_ENV=development\nSECRET_KEY=%s\n' \
		"$$($(PYTHON) -c 'import secrets; print(secrets.token_hex(32))')" > $@
	@echo "Wrote .env (FAREWELL_ENV=development and a new SECRET_KEY) for the flask command."

## test: run the whole suite (SQLite by default; set TEST_DATABASE_URL for PostgreSQL)
test: $(STAMP)
	TEST_DATABASE_URL="$(TEST_DATABASE_URL)" $(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check feedback tests wsgi.py
	$(BIN)/ruff format --check feedback tests wsgi.py
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff format feedback tests wsgi.py
	$(BIN)/ruff check --fix feedback tests wsgi.py

clean:
	rm -rf $(VENV) instance .pytest_cache test-artifacts

## messages: extract the customer's words into messages.pot and merge them into every language's .po
messages: $(STAMP)
	$(BIN)/pybabel extract -F feedback/translations/babel.cfg -k _l --no-location --sort-output --project Farewell -o feedback/translations/messages.pot .
	$(BIN)/pybabel update -i feedback/translations/messages.pot -d feedback/translations -w 120 --no-fuzzy-matching
	$(BIN)/pybabel compile -d feedback/translations

# Two commands for a new user: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
DEV_ENV := OBSERVATORY_ENV=development
PG_TEST_HINT := postgresql://postgres@127.0.0.1:5432/test

.PHONY: run test lint format translations install screenshots clean bench reliability security

$(STAMP): pyproject.toml
	@test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(DEV_ENV) $(BIN)/observatory init
	$(DEV_ENV) $(BIN)/observatory load-starter
	$(DEV_ENV) $(BIN)/observatory demo-users
	@echo ""
	@echo "  The observatory is at http://127.0.0.1:5000  (Ctrl+C to stop)"
	@echo ""
	$(DEV_ENV) $(BIN)/observatory serve --dev --host 127.0.0.1 --port 5000

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: lint
	$(BIN)/pytest
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
		echo "== the same tests on PostgreSQL ($$TEST_DATABASE_URL) =="; \
		OBSERVATORY_TEST_BACKEND=postgresql $(BIN)/pytest -m "not browser"; \
	else \
		echo "PostgreSQL run skipped: set TEST_DATABASE_URL (e.g. $(PG_TEST_HINT)) to run it."; \
	fi

translations: $(STAMP)
	$(BIN)/python -m observatory.i18n_tools update
	$(BIN)/python -m observatory.i18n_tools compile

screenshots: $(STAMP)
	OBSERVATORY_SCREENSHOTS=1 $(BIN)/pytest -m browser tests/browser/test_screenshots.py

# Load and fault scenarios against a real gunicorn server (needs TEST_DATABASE_URL; ~5 min).
reliability: $(STAMP)
	OBSERVATORY_TEST_BACKEND=postgresql $(BIN)/pytest -m reliability tests/reliability --durations=0

# bandit (must pass) and pip-audit (warns when no vulnerability service is reachable).
security: $(STAMP)
	.ci/security-checks

bench: $(STAMP)
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) instance .pytest_cache

# The two newcomer commands: `make run` (set up + dashboard) and `make test` (set up + all tests).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8501

.PHONY: run test setup setup-dev system-deps lint benchmark hazard-log clean

$(BIN)/kapcds: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade --quiet pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(BIN)/kapcds

setup: $(BIN)/kapcds

## make run: install, train a first model if none, seed the store from data_samples/, serve.
run: setup
	$(BIN)/kapcds dashboard --port $(PORT)

## make test: install Python and Debian test dependencies, start PostgreSQL, run every test.
test: setup system-deps
	bash scripts/run-tests.sh

system-deps:
	bash scripts/install-system-deps.sh

lint: setup
	$(BIN)/ruff check .

benchmark: setup
	$(BIN)/python -m benchmarks.run

## make hazard-log: check docs/safety/hazards/*.yaml and re-render docs/safety/*.md
hazard-log: setup
	$(BIN)/python -m scripts.hazard_log

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

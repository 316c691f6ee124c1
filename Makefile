# Two commands do everything on a fresh machine:
#   make demo   -- virtual environment, install, play the default night end to end
#   make test   -- the gates: ruff, mypy (strict, on skywarden/), then the whole test suite
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/skywarden demo --out night-out

test: $(STAMP)
	$(BIN)/ruff check skywarden tests bench tools
	$(BIN)/python -m mypy skywarden
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check skywarden tests bench tools
	$(BIN)/python -m mypy skywarden

bench: $(STAMP)
	$(BIN)/python bench/night.py

clean:
	rm -rf $(VENV) night-out .pytest_cache

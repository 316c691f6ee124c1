# Two commands do everything on a fresh machine:
#   make demo   -- virtual environment, install, play the default night end to end
#   make test   -- the gates: ruff, mypy (strict, on skywarden/), then the whole test suite
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed
# The browser console, built from console/ (npm registry: MapLibre GL JS, esbuild) into the
# package, where `skywarden serve` finds it.
CONSOLE     = skywarden/service/static/index.html
CONSOLE_SRC = $(wildcard console/src/*.* console/src/panels/*.js) console/build.mjs console/package.json console/package-lock.json

.PHONY: demo test lint bench clean serve console

$(CONSOLE): $(CONSOLE_SRC)
	cd console && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	cd console && node build.mjs

console: $(CONSOLE)

# order-only: a wheel built from here carries the console; a console rebuild needs no reinstall
$(STAMP): pyproject.toml | $(CONSOLE)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/skywarden demo --out night-out

# the default night as an exercise at 10x, served live: the console at http://127.0.0.1:8080
serve: $(STAMP) $(CONSOLE)
	$(BIN)/skywarden serve --exercise --speed 10 --log night-serve/night.sqlite

test: $(STAMP) $(CONSOLE)
	$(BIN)/ruff check skywarden tests bench tools
	$(BIN)/python -m mypy skywarden
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check skywarden tests bench tools
	$(BIN)/python -m mypy skywarden

bench: $(STAMP)
	$(BIN)/python bench/night.py

clean:
	rm -rf $(VENV) night-out night-serve .pytest_cache console/node_modules skywarden/service/static

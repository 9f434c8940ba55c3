# Short commands for students, instructors and contributors. Everything runs in .venv.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
ASSIGNMENTS := $(notdir $(wildcard solutions/a*))

.PHONY: install book test lint format assignments check-assignments clean

install:            ## Install everything (Python packages in .venv; WordNet via apt when run as root)
	bash scripts/install.sh

book:               ## Build the book into _build/html (offline, warnings are errors)
	$(BIN)/jupyter-book build . -W -n --keep-going

test: lint          ## Lint, then run every test (library, graders, book build)
	$(BIN)/python -m pytest -n 2 --dist loadgroup

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format:
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

assignments:        ## Regenerate the student versions in assignments/ from solutions/
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python scripts/build_assignments.py

check-assignments:  ## Fail if assignments/ is out of sync with solutions/
	$(BIN)/python -m pytest tests/test_release_in_sync.py -q

clean:
	rm -rf _build .pytest_cache

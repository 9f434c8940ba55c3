# Short commands for students, instructors and contributors. Everything runs in .venv.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
ASSIGNMENTS := $(notdir $(wildcard solutions/a*))

.PHONY: install book notebooks test lint format assignments check-assignments clean \
	autograde feedback export report calendar leaks bench-autograde mutation-report student-edition

install:            ## Install everything in .venv (CPU torch; CUDA=1 for CUDA on Linux), WordNet, Debian packages when root
	PYTHON=$(PYTHON) bash scripts/install.sh $(if $(CUDA),--cuda)

book: notebooks     ## Build the book into _build/html (offline, warnings are errors)
	TQDM_DISABLE=1 $(BIN)/jupyter-book build . -W -n --keep-going

notebooks:          ## Write chapters/*.ipynb from chapters/*.md (what the launch buttons open)
	$(BIN)/python scripts/build_notebooks.py

test: lint          ## Lint, then run every test (library, graders, book build)
	$(BIN)/python -m pytest -n 2 --dist loadgroup --no-loadscope-reorder --durations=15

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format:
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

assignments:        ## Regenerate the student versions in assignments/ from solutions/
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python scripts/build_assignments.py
	$(BIN)/python scripts/assignment_map.py --write

check-assignments:  ## Fail if assignments/ is out of sync with solutions/
	$(BIN)/python -m pytest tests/test_release_in_sync.py -q

# Instructors: grade a class (see README, "Instructors"). Example:
#   make autograde ASSIGNMENT=a1_encoder SUBMISSIONS=~/inbox/a1   (folders <student>/a1_encoder.ipynb)
ASSIGNMENT  ?= a1_encoder
SUBMISSIONS ?=
JOBS        ?= 2
GRADES      ?=
FORMAT      ?= nbgrader
STUDENT     ?=
TIMES       ?=
COURSE      := $(BIN)/python -m ch11lib.course

autograde:          ## Autograde every submission of ASSIGNMENT (SUBMISSIONS=dir, default submitted/) in JOBS processes; STUDENT=id: only that one; TIMES=csv: the LMS's submission times
	$(COURSE) autograde $(ASSIGNMENT) $(if $(SUBMISSIONS),--submissions $(SUBMISSIONS)) --jobs $(JOBS) \
		$(foreach s,$(STUDENT),--student $(s)) $(if $(TIMES),--times "$(TIMES)")

feedback:           ## HTML feedback for ASSIGNMENT in feedback/ (fails if hidden tests would leak)
	$(COURSE) feedback $(ASSIGNMENT)

export:             ## Export grades: FORMAT=nbgrader (grades.csv), canvas (canvas_grades.csv) or gradescope (gradescope_ASSIGNMENT.csv); GRADES=file
	$(COURSE) export $(GRADES) --format $(FORMAT) $(if $(filter gradescope,$(FORMAT)),--assignment $(ASSIGNMENT))

report:             ## Class report for ASSIGNMENT: reports/ASSIGNMENT/report.md with score plots
	$(COURSE) report $(ASSIGNMENT)

calendar:           ## Write the due dates of nbgrader_config.py (c.DueDates.duedates) into the gradebook
	$(COURSE) calendar

leaks:              ## Fail if a release or feedback page of ASSIGNMENT shows hidden test source
	$(COURSE) leaks $(ASSIGNMENT)

bench-autograde:    ## Seconds per submission, plain nbgrader vs the fast path, class-of-100 estimate
	$(BIN)/python benchmarks/bench_autograde.py

mutation-report:    ## Per assignment and graded function: how many wrong implementations lose points
	$(BIN)/python benchmarks/mutation_report.py

# Instructors: what students get (README, "Publishing the course"). BOOK=1 adds the built book;
# STUDENT_REPO is where the edition is published (the edition's book links point there).
DEST ?=
STUDENT_REPO ?=
student-edition:    ## Write the student edition to DEST (no solutions, hidden tests, grading code)
	@test -n "$(DEST)" || { echo "usage: make student-edition DEST=../ch11-student [BOOK=1]" >&2; exit 2; }
	$(BIN)/python scripts/student_edition.py "$(DEST)" $(if $(BOOK),--book) \
		$(if $(STUDENT_REPO),--repository-url $(STUDENT_REPO))

clean:
	rm -rf _build .pytest_cache

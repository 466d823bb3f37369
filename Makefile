# The two set-up commands of the README: `make book` and `make test`.
# Both create .venv and install requirements.txt into it first, once per change of that file.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: book test benchmark clean

book: $(STAMP)
	LRCOURSE_PROGRESS=0 $(BIN)/jupyter-book build . --warningiserror --keep-going

# pytest runs on two workers, a test file each at a time (CI has two cores; a file's tests share what its fixtures
# built or graded). The mutation run of the hidden suites (one worker) goes beside them, filling the moments a
# worker waits; its report is printed after pytest's, and either one failing fails the target. Beside that work
# a chapter keeps to one CPU thread (LRCOURSE_THREADS=1): a second one would fight the others for the cores.
test: $(STAMP)
	log=$$(mktemp); $(BIN)/python -m lrgrader mutants --workers 1 >$$log 2>&1 & mutants=$$!; \
	LRCOURSE_THREADS=1 $(BIN)/python -m pytest -n 2 --dist loadfile; tests=$$?; \
	wait $$mutants; checked=$$?; cat $$log; rm -f $$log; \
	test $$tests -eq 0 && test $$checked -eq 0

benchmark: $(STAMP)
	LRCOURSE_PROGRESS=0 $(BIN)/python benchmarks/timings.py
	$(BIN)/python benchmarks/stacked_sweep.py
	$(BIN)/python benchmarks/class_grading.py
	$(BIN)/python benchmarks/grading_margins.py
	$(BIN)/python benchmarks/judgement_seeds.py

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

clean:
	rm -rf _build

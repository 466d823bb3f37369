# The two set-up commands of the README: `make book` and `make test`.
# Both create .venv and install requirements.txt into it first, once per change of that file.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: book test benchmark clean

book: $(STAMP)
	LRCOURSE_PROGRESS=0 $(BIN)/jupyter-book build . --warningiserror --keep-going

test: $(STAMP)
	$(BIN)/python -m pytest
	$(BIN)/python -m lrgrader mutants

benchmark: $(STAMP)
	LRCOURSE_PROGRESS=0 $(BIN)/python benchmarks/timings.py
	$(BIN)/python benchmarks/stacked_sweep.py
	$(BIN)/python benchmarks/class_grading.py
	$(BIN)/python benchmarks/grading_margins.py

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

clean:
	rm -rf _build

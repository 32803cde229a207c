# make setup : install what the machine lacks (Debian packages, kernel headers, .venv); needs root
# make test  : setup, then every test (parsers, packaging, doctor, and the local lab as root)
# make lab   : setup, the local lab up (labkit up), then JupyterLab on notebooks/
PY := .venv/bin/python

.PHONY: setup test lab lint bench

setup:
	bash infra/setup.sh

test: setup
	$(PY) -m ruff check labkit tests benchmarks
	$(PY) -m pytest

lab: setup
	$(PY) -m labkit.cli up
	$(PY) -m jupyterlab --allow-root --no-browser --notebook-dir=notebooks

lint:
	$(PY) -m ruff check --fix labkit tests benchmarks
	$(PY) -m ruff format labkit tests benchmarks

bench:
	$(PY) benchmarks/parse_speed.py
	$(PY) benchmarks/lab_speed.py
	$(PY) benchmarks/datapath_speed.py

# make setup : install what the machine lacks (Debian packages, kernel headers, .venv); needs root
# make test  : setup, then every test (parsers, packaging, doctor, and the local lab as root)
# make lab   : setup, the local lab up (labkit up), then JupyterLab on notebooks/
# make notebooks : every notebook executed by nbval against the local lab (outputs are not
#   compared: the check cells make the run meaningful); 00-08 first, then all of them again
#   without tearing the lab down in between, to prove each reruns on a lab left by earlier runs;
#   then the lab is taken down (notebook 10 runs after 09's cleanup) and proven gone
PY := .venv/bin/python
# LABKIT_COUNTS: notebook 10 measures 1, 100 and 1000 services in CI (all five by hand)
NBVAL := LABKIT_WIDGETS=static LABKIT_COUNTS=1,100,1000 $(PY) -m pytest --nbval-lax \
	--nbval-cell-timeout=300 -q

.PHONY: setup test lab lint bench notebooks

setup:
	bash infra/setup.sh

test: setup
	$(PY) -m ruff check labkit tests benchmarks docs
	$(PY) -m pytest
	$(MAKE) notebooks

notebooks:
	$(NBVAL) notebooks/0[0-8]_*.ipynb
	$(NBVAL) notebooks
	$(PY) -m labkit.cli down
	$(PY) -m labkit.cli down --check

lab: setup
	$(PY) -m labkit.cli up
	$(PY) -m jupyterlab --allow-root --no-browser --notebook-dir=notebooks

lint:
	$(PY) -m ruff check --fix labkit tests benchmarks docs
	$(PY) -m ruff format labkit tests benchmarks docs

bench:
	$(PY) benchmarks/parse_speed.py
	$(PY) benchmarks/lab_speed.py
	$(PY) benchmarks/datapath_speed.py
	$(PY) benchmarks/notebook_speed.py

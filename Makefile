# hostwatch — the two commands that matter: `make demo` and `make test`.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

VENV := .venv
# Molecule runs `ansible-config` from PATH, so the venv's bin comes first for every recipe.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
# ansible.cfg's relative collections path only holds from this directory; tools that run ansible elsewhere
# (ansible-lint's syntax check, molecule) need it absolute to resolve hostwatch.stack.* from the checkout.
export ANSIBLE_COLLECTIONS_PATH := $(CURDIR)/collections
export ANSIBLE_FORCE_COLOR ?= 0
export PIP_DISABLE_PIP_VERSION_CHECK := 1

STAMP := $(VENV)/.installed
PIP_VERSION := 26.3
LAB_SUITES := bookworm trixie
COLLECTION_TMP := $(CURDIR)/.cache/collection-test
# ansible-test keeps its sanity venvs and its pip bootstrap under ~/.ansible/test: give it a home of its own.
ANSIBLE_TEST_HOME := $(CURDIR)/.cache/ansible-test-home
# The pip that ansible-core 2.19's ansible-test bootstraps into those venvs (names its get-pip script).
ANSIBLE_TEST_PIP := 24.2
# The newer cores' controller (tests/matrix/ansible-core.txt): wheels for Python 3.13 and the collections site.yml
# needs, downloaded here for the lab containers, which do not reach PyPI or Galaxy.
MATRIX_DIR := $(CURDIR)/.cache/matrix

.PHONY: help venv lab-images lab-docker lab-browser demo demo-down test checks lint test-app collection test-collection test-rules test-ee sanity matrix-wheels sanity-matrix test-matrix test-molecule bench bench-app bench-noop clean

help:
	@echo "make demo       deploy the stack to two local lab hosts (Debian 12 and 13) and show it answering"
	@echo "make demo-down  remove the lab hosts"
	@echo "make test       every test: lint, app and plugin tests, collection build and checks, sanity, molecule"
	@echo "make lint       ruff, mypy, yamllint, ansible-lint, changelog fragments"
	@echo "make sanity     ansible-test sanity on the built collection"
	@echo "make sanity-matrix  the same on ansible-core 2.20 and 2.21, in a Python 3.13 lab container"
	@echo "make test-matrix    site, deploy and status on 2.20 and 2.21 from that controller (molecule matrix)"
	@echo "make test-ee    the AWX/AAP execution environment: ansible-builder create, and what its build would install"
	@echo "make test-rules promtool check and unit tests of the Prometheus rules; the Grafana dashboard's queries"
	@echo "make bench      benchmarks on lab hosts -> docs/benchmarks.md (BENCH_QUICK=1: small, to check it)"
	@echo "make bench-app  the app alone: tail and HTTP on loopback (print figures)"
	@echo "make bench-noop the no-op site.yml run against a bare play, on the demo lab hosts"

$(STAMP): requirements-dev.txt app/pyproject.toml
	@# Debian splits venv/ensurepip out of python3: install it on a machine that lacks it.
	python3 -c 'import ensurepip' 2>/dev/null || { apt-get update -qq && apt-get install -y -qq python3-venv; }
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q pip==$(PIP_VERSION)
	$(VENV)/bin/pip install -q -r requirements-dev.txt -e ./app
	touch $@

venv: $(STAMP)

# The lab's Docker daemon and its images (one per Debian suite; with -j, built side by side), and the browser
# the page's test drives: each installed from Debian when missing.
lab-images: $(addprefix lab-image-,$(LAB_SUITES))

lab-image-%: lab-docker
	bash lab/build-image.sh $*

lab-docker:
	bash lab/ensure-docker.sh

lab-browser:
	bash lab/ensure-browser.sh

demo: venv lab-images
	ansible-playbook playbooks/lab.yml
	ansible-playbook -i inventory/lab site.yml
	bash lab/show.sh

demo-down: venv
	ansible-playbook playbooks/lab.yml -e hostwatch_lab_state=absent

# The molecule scenarios, whose tests time things, run alone. Before them, side by side: the app's tests and
# the checks that only read code, ansible-test sanity (its own venvs, mostly pip), the lab (Docker, debootstrap
# and chromium from Debian, mostly the network) and, once the lab images are there, the newer cores: their
# sanity and the matrix scenario, which times nothing it asserts.
test:
	$(MAKE) -j4 --output-sync=target test-app checks sanity lab-images lab-browser sanity-matrix test-matrix
	$(MAKE) test-molecule

# (one make: the tarball that test-collection and sanity read is built once)
checks: lint test-collection test-rules test-ee

lint: venv
	ruff check . && ruff format --check .
	cd app && mypy
	yamllint -s .
	@# ansible-lint puts ~/.ansible/collections before ours: a hostwatch.stack installed there (by any other
	@# checkout's tools) would be linted instead of this one. A home of its own keeps it to this checkout.
	ANSIBLE_HOME=$(CURDIR)/.cache/ansible-home ansible-lint
	antsibull-changelog lint
	mkdir -p .cache && antsibull-changelog generate --output $(CURDIR)/.cache/CHANGELOG.md
	cmp -s .cache/CHANGELOG.md CHANGELOG.md || \
	  { echo "CHANGELOG.md differs from what antsibull-changelog generates from changelogs/changelog.yaml"; exit 1; }

test-app: venv
	cd app && pytest -q
	@# the collection's plugins (the checkout is the collection through collections/, see ansible.cfg)
	PYTHONPATH=collections pytest -q -p no:cacheprovider tests/unit

# The collection as users get it: the tarball, built once per make run for test-collection and sanity.
collection: venv
	rm -rf $(COLLECTION_TMP) && mkdir -p $(COLLECTION_TMP)
	ansible-galaxy collection build --force --output-path $(COLLECTION_TMP) .

# The tarball holds what a user runs and no dev/lab file, and states what it uses; installed into an empty path
# (without this checkout's ansible.cfg, which points at the working tree), the site playbook resolves from there;
# Galaxy's own import checks pass on it.
test-collection: collection
	python tools/check_collection.py $(COLLECTION_TMP)/hostwatch-stack-*.tar.gz
	cd $(COLLECTION_TMP) && env -u ANSIBLE_CONFIG ANSIBLE_COLLECTIONS_PATH=$(COLLECTION_TMP)/path sh -c '\
	  ansible-galaxy collection install --offline -p ./path ./hostwatch-stack-*.tar.gz && \
	  ansible-galaxy collection list hostwatch.stack && \
	  ansible-playbook --syntax-check -i localhost, hostwatch.stack.site hostwatch.stack.deploy \
	    hostwatch.stack.rollback hostwatch.stack.status'
	@# A HOME of its own: its ansible-lint would also read ~/.ansible/collections, where molecule installs
	@# whatever checkout it last ran in.
	cd $(COLLECTION_TMP) && mkdir -p home && env -u ANSIBLE_CONFIG -u ANSIBLE_COLLECTIONS_PATH HOME=$$PWD/home \
	  GALAXY_IMPORTER_CONFIG=$(CURDIR)/.config/galaxy-importer.cfg \
	  python -m galaxy_importer.main hostwatch-stack-*.tar.gz | tee importer.log
	@# Galaxy notes any sanity ignore file; ansible-test checks each of its entries (and fails on a stale one).
	! grep -E '^(WARNING|ERROR)' $(COLLECTION_TMP)/importer.log | grep -v '^WARNING: Ignore files skip ansible-test' \
	  || { echo "galaxy-importer: not clean (above)"; exit 1; }

# The execution environment an operator builds for AWX / AAP (docs/ee/, with the tarball beside it): what
# `ansible-builder create` writes holds the collection, its meta/execution-environment.yml requirements (found by the
# build's own introspection) and the ansible-core and ansible-runner tested here. No image: no registry here.
test-ee: collection
	python tools/check_ee.py $(COLLECTION_TMP)/hostwatch-stack-*.tar.gz

# The monitoring mixin: the Prometheus rules parse and pass their unit tests (each alert pending, firing,
# resolved; each recording rule's value), and every query of the Grafana dashboard parses as PromQL.
# promtool is Debian's, unpacked from the prometheus package into .cache on first use: no Prometheus server runs.
PROMTOOL := $(CURDIR)/.cache/promtool/usr/bin/promtool

$(PROMTOOL):
	bash lab/apt-install.sh --extract $(CURDIR)/.cache/promtool prometheus

test-rules: $(PROMTOOL)
	$(PROMTOOL) check rules monitoring/rules/*.yml
	$(PROMTOOL) test rules monitoring/tests/*.yml
	PROMTOOL=$(PROMTOOL) python3 tools/dashboard.py monitoring/dashboards/*.json

# ansible-test sanity on the collection as installed, in a temporary path outside any git checkout (inside
# one, ansible-test lists only the files git tracks). Each test gets a venv of ansible-test's own pinned
# requirements, cached in ANSIBLE_TEST_HOME; the pip bootstrap it would download comes from tools/.
sanity: collection
	install -D -m 0644 tools/ansible_test_get_pip.py \
	  $(ANSIBLE_TEST_HOME)/.ansible/test/cache/get_pip_$(subst .,_,$(ANSIBLE_TEST_PIP)).py
	tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	  env -u ANSIBLE_CONFIG ANSIBLE_COLLECTIONS_PATH=$$tmp ansible-galaxy collection install --offline \
	    -p $$tmp $(COLLECTION_TMP)/hostwatch-stack-*.tar.gz >/dev/null && \
	  cd $$tmp/ansible_collections/hostwatch/stack && \
	  env -u ANSIBLE_CONFIG -u ANSIBLE_COLLECTIONS_PATH HOME=$(ANSIBLE_TEST_HOME) \
	    ansible-test sanity --python 3.11 --color no

# The newer cores on a Python 3.13 controller: sanity in a Debian 13 lab container (the molecule scenario
# matrix runs their converge, idempotence, deploy and status), offline from what matrix-wheels downloaded.
matrix-wheels: venv
	python tools/matrix_wheels.py $(MATRIX_DIR) $(PIP_VERSION)

sanity-matrix: collection matrix-wheels lab-image-trixie
	bash tests/matrix/sanity.sh $(COLLECTION_TMP)/hostwatch-stack-*.tar.gz $(MATRIX_DIR)

test-matrix: venv lab-images matrix-wheels
	molecule test -s matrix

test-molecule: venv lab-images lab-browser
	molecule test --all --exclude matrix

# Benchmarks print figures; they are not tests and not part of `make test`. Their tools (matplotlib,
# py-spy) are pinned in bench/requirements.txt and installed only here.
BENCH_STAMP := $(VENV)/.bench-installed
$(BENCH_STAMP): bench/requirements.txt $(STAMP)
	$(VENV)/bin/pip install -q -r bench/requirements.txt
	touch $@

bench: $(BENCH_STAMP) lab-images
	BENCH_QUICK=$(BENCH_QUICK) python bench/run.py
	python bench/report.py

bench-app: venv
	python bench/tail.py
	python bench/http_bench.py

bench-noop: venv lab-images
	ansible-playbook playbooks/lab.yml
	python bench/noop.py

clean:
	rm -rf $(VENV) .cache

# mantis.datalayer — developer and CI entry points.
#
#   make test                 everything CI runs: set-up, lint, unit, promtool, integration, Molecule
#   make promtool             the Prometheus files of playbooks/prometheus_targets.yml through promtool
#   make demo                 the whole data layer on four local containers, verified; make demo-clean
#   make lint | unit | promtool | integration | molecule | sanity
#   make molecule SCENARIOS=smoke        one Molecule scenario
#   make integration INTEGRATION_TESTS=tests/integration/redis   one area's integration tests
#   make bench                the site's speed figures, each against a same-run baseline
#   make bench-redis          Redis GET/SET latency on a provisioned host vs. a baseline
#   make bench-backup         backup time and size, restore time (RTO), data lost with the disk (RPO)
#   make bench-timescale      compression and continuous-aggregate figures (community edition in PGlite)
#
# Every target installs what it needs first (virtualenv, Docker engine, test images),
# so a fresh Debian machine needs nothing but `make` and root.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

VENV ?= .venv
PYTHON ?= python3
DISTS ?= trixie bookworm
SCENARIOS ?= $(sort $(notdir $(patsubst %/molecule.yml,%,$(wildcard molecule/*/molecule.yml))))
PYTEST_ARGS ?=
INTEGRATION_TESTS ?= tests/integration

# Ansible's home (collections, temporary files) inside the checkout, and in it a
# collection tree where this checkout is mantis.datalayer: ansible-playbook, Molecule,
# ansible-lint and the integration tests all use the working copy itself. (Molecule and
# ansible-lint would otherwise install a copy of the collection into ~/.ansible, where
# another checkout's copy can shadow this one; they skip that when this link exists.)
export ANSIBLE_HOME := $(CURDIR)/.cache/ansible-home
COLLECTIONS_DIR := $(ANSIBLE_HOME)/collections
export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS_DIR)
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export PY_COLORS := 0
export ANSIBLE_FORCE_COLOR := 0

STAMP_VENV := $(VENV)/.installed-$(shell cat requirements-dev.txt | sha256sum | cut -c1-12)
PGLITE_DIR := tests/support/pglite
STAMP_NODE := $(PGLITE_DIR)/node_modules/.installed-$(shell cat $(PGLITE_DIR)/package-lock.json | sha256sum | cut -c1-12)

.PHONY: help test bootstrap venv host-tools node docker images collection lint yamllint ruff ansible-lint \
        sanity unit promtool integration molecule bench bench-redis bench-backup bench-timescale build changelog clean \
        demo demo-clean

help:
	@sed -n '2,15p' Makefile | sed 's/^# \{0,1\}//'

test: bootstrap lint unit promtool integration molecule
	@echo "make test: all suites passed"

bootstrap: venv host-tools node docker images collection

venv: $(STAMP_VENV)

$(STAMP_VENV): requirements-dev.txt
	@command -v $(PYTHON) >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv; }
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV) || { \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv && $(PYTHON) -m venv $(VENV); }
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@rm -f $(VENV)/.installed-* && touch $@

# Debian packages the tests use on this machine: debootstrap builds the images,
# shellcheck is run by ansible-test sanity on the project's shell scripts.
HOST_TOOLS := debootstrap shellcheck
host-tools:
	@missing=""; for tool in $(HOST_TOOLS); do command -v $$tool >/dev/null || missing="$$missing $$tool"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

# promtool comes from Debian's `prometheus` package, which is not in HOST_TOOLS: installing it
# would also install and start a Prometheus server (and, as a recommended package, a node
# exporter on port 9100) on this machine. Only the promtool binary (linked against libc alone)
# is taken from the package: downloaded with apt-get into .cache, nothing installed or started.
PROMTOOL_PACKAGE := prometheus
PROMTOOL := .cache/host-tools/bin/promtool
$(PROMTOOL):
	@mkdir -p $(@D) .cache/host-tools/deb
	@echo "extracting promtool from Debian's package $(PROMTOOL_PACKAGE)"
	@cd .cache/host-tools/deb && rm -f *.deb && { apt-get download -qq $(PROMTOOL_PACKAGE) 2>/dev/null || { \
	  apt-get update -qq && apt-get download -qq $(PROMTOOL_PACKAGE); }; }
	@dpkg-deb --fsys-tarfile .cache/host-tools/deb/$(PROMTOOL_PACKAGE)_*.deb | tar -xO ./usr/bin/promtool > $@.part
	@chmod 0755 $@.part && mv $@.part $@ && rm -rf .cache/host-tools/deb
	@$@ --version | head -1

# The TimescaleDB community edition in PGlite (WebAssembly) that the integration tests
# use for what Debian's Apache edition cannot do: Debian's Node.js and npm, and the npm
# packages exactly as package-lock.json pins them (tests/support/pglite).
node: $(STAMP_NODE)

$(STAMP_NODE): $(PGLITE_DIR)/package-lock.json $(PGLITE_DIR)/package.json
	@command -v node >/dev/null && command -v npm >/dev/null || { \
	  echo "installing Debian packages: nodejs npm"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; }
	cd $(PGLITE_DIR) && npm ci --legacy-peer-deps --no-audit --no-fund --loglevel=error
	@rm -f $(PGLITE_DIR)/node_modules/.installed-* && touch $@

docker:
	@tests/support/ensure-docker.sh

images: docker
	@for dist in $(DISTS); do tests/support/image/build.sh $$dist; done

collection:
	@mkdir -p $(COLLECTIONS_DIR)/ansible_collections/mantis
	@ln -sfn $(CURDIR) $(COLLECTIONS_DIR)/ansible_collections/mantis/datalayer

lint: venv yamllint ruff ansible-lint sanity

yamllint:
	yamllint --strict .

ruff:
	ruff check .
	ruff format --check .

ansible-lint: collection
	ansible-lint --profile production

# ansible-test must run from a directory named ansible_collections/mantis/datalayer;
# it gets a copy of the tracked files there. Its pip bootstrap is served offline
# (tests/support/get_pip_standin.py).
SANITY_DIR := $(CURDIR)/.cache/sanity/ansible_collections/mantis/datalayer
sanity: venv host-tools
	@mkdir -p ~/.ansible/test/cache
	@cp tests/support/get_pip_standin.py ~/.ansible/test/cache/get_pip_24_2.py
	@rm -rf $(SANITY_DIR) && mkdir -p $(SANITY_DIR)
	@git ls-files -co --exclude-standard -z | grep -zv '^\.cache/' | xargs -0 cp --parents -t $(SANITY_DIR)
	@# ansible-test lists targets with git; the copy is its own repository so the
	@# ignored .cache/ of this checkout does not hide every file from it.
	@cd $(SANITY_DIR) && git init -q && git add -A
	cd $(SANITY_DIR) && ansible-test sanity --python 3.11 --requirements --color no

# promtool: tests/unit/playbooks/test_prometheus_targets_playbook.py checks that the generated
# rules' promtool tests fail on a wrong rule.
unit: venv collection $(PROMTOOL)
	PROMTOOL=$(CURDIR)/$(PROMTOOL) pytest tests/unit $(PYTEST_ARGS)

# playbooks/prometheus_targets.yml for the example inventory and an all-in-one host (TLS, basic
# auth, backups on the host itself), then promtool on what it wrote: the configuration (with its
# target files and the rules it names), the rules, and the rules' unit tests.
PROMETHEUS_INVENTORIES := example=inventories/example all_in_one=tests/support/prometheus/all_in_one.yml
promtool: venv collection $(PROMTOOL)
	@for entry in $(PROMETHEUS_INVENTORIES); do \
	  name=$${entry%%=*}; inventory=$${entry#*=}; dir=$(CURDIR)/.cache/prometheus/$$name; \
	  echo "== $$inventory -> .cache/prometheus/$$name"; \
	  rm -rf $$dir; \
	  out=$$(ansible-playbook -i $$inventory playbooks/prometheus_targets.yml -e prometheus_targets_dir=$$dir 2>&1) \
	    || { echo "$$out"; exit 1; }; \
	  $(PROMTOOL) check config $$dir/prometheus.yml; \
	  $(PROMTOOL) check rules --lint-fatal $$dir/rules/mantis.rules.yml; \
	  $(PROMTOOL) test rules $$dir/rules/mantis.rules.test.yml; \
	done

integration: bootstrap
	pytest $(INTEGRATION_TESTS) $(PYTEST_ARGS)

molecule: bootstrap
	@test -n "$(SCENARIOS)" || { echo "molecule: no scenario found" >&2; exit 1; }
	tests/support/run-molecule.sh $(SCENARIOS)

# The MANTIS data layer on four local systemd containers (inventories/local): create them
# (or start the existing ones again), prepare them as test hosts (the InfluxDB v2 API test
# double stands in for InfluxDB 2), converge site.yml, verify, then print what was installed
# from where and how to connect. The summary is printed even when verification fails; the
# exit status is verification's.
DEMO_INVENTORY := inventories/local
demo: bootstrap
	ansible-playbook -i $(DEMO_INVENTORY) tests/support/playbooks/local_containers.yml
	ansible-playbook -i $(DEMO_INVENTORY) tests/support/playbooks/test_hosts.yml
	ansible-playbook -i $(DEMO_INVENTORY) site.yml
	@status=0; ansible-playbook -i $(DEMO_INVENTORY) playbooks/verify.yml || status=$$?; \
	  ansible-playbook -i $(DEMO_INVENTORY) tests/support/playbooks/demo_summary.yml; exit $$status

demo-clean: venv collection
	ansible-playbook -i $(DEMO_INVENTORY) tests/support/playbooks/local_containers.yml -e local_containers_state=absent
	rm -rf .cache/demo/influxdb-tokens

# Benchmarks print figures (and ratios against a baseline measured in the same run);
# they are not part of `make test`.
bench-redis: bootstrap
	python -m tests.benchmarks.redis_latency

# The site's five figures (cold and no-op converge, COPY ingest, Redis p99, 8 hosts vs 1).
# Figures 6 and 7: compression and the dashboard query on the continuous aggregate, with the
# timescaledb role's defaults, in the TimescaleDB community edition in PGlite.
bench-timescale: bootstrap
	python -m tests.benchmarks.timescale_bench

# Backup and restore figures (backup time and size, RTO, RPO) of the pgbackrest role.
bench-backup: bootstrap
	python -m tests.benchmarks.backup_bench

bench: bootstrap
	python -m tests.benchmarks.site_bench
	python -m tests.benchmarks.timescale_bench
	python -m tests.benchmarks.backup_bench

build: venv
	ansible-galaxy collection build --force --output-path .cache/dist

changelog: venv
	antsibull-changelog release

clean:
	rm -rf .cache tests/output

# Build, test and demo tooling for the eightbyeight.contactnow collection.
#
# On a fresh machine these do all the setup themselves (virtual environments from PyPI, the
# offline get-pip stand-in for ansible-test, a staged copy of the collection):
#   make demo          build + install the collection, run the demo playbook against a sandbox
#   make test          everything CI runs; a summary of the stages at the end
# For developers (each runs alone; ANSIBLE=2.21 or ANSIBLE=2.19 picks one ansible-core):
#   make sanity | units | integration | lint | docs | build | venv | clean | distclean
#   make bench         the collection timed against hand-written uri playbooks (not a test)
# `make help` lists the variables.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:
MAKEFLAGS += --no-print-directory

# ---- versions ------------------------------------------------------------------------------

# ansible-core versions (X.Y) tested, newest first: the newest and the oldest supported.
ANSIBLE_VERSIONS := 2.21 2.19
# The versions a command runs on; `make integration ANSIBLE=2.21` picks one.
ANSIBLE ?= $(ANSIBLE_VERSIONS)
# Lint, docs and the demo use the newest.
NEWEST := $(firstword $(ANSIBLE_VERSIONS))

# Python for each version's virtual environment (full paths: the pyenv python3.12 shim does not
# resolve here). Override with e.g. PYTHON_2.21=/usr/bin/python3.13.
PYTHON_2.21 ?= $(firstword $(wildcard /root/.pyenv/versions/3.12.*/bin/python) $(shell command -v python3.12))
PYTHON_2.19 ?= $(firstword $(wildcard /root/.pyenv/versions/3.11.*/bin/python) $(shell command -v python3.11) python3)

# ---- knobs ---------------------------------------------------------------------------------

# Integration targets to run (empty: all of them), e.g. TARGETS=sandbox_smoke.
TARGETS ?=
# Extra arguments for ansible-test, e.g. ANSIBLE_TEST_ARGS=-vvv or --test pylint for sanity.
ANSIBLE_TEST_ARGS ?=
# Playbook `make demo` runs.
DEMO_PLAYBOOK ?= demo/demo.yml

# ---- paths ---------------------------------------------------------------------------------

COLLECTION := eightbyeight/contactnow
TMP := $(CURDIR)/.tmp
venv = $(CURDIR)/.venv-$(1)
# Each command tests its own staged copy, so that commands can run side by side.
staged = $(TMP)/$(1)/ansible_collections/$(COLLECTION)

# A venv is refreshed when one of these changes.
VENV_INPUTS := Makefile requirements.txt tools/requirements-test.txt tools/requirements-newest.txt \
	tools/get_pip_standin.py tools/prepare_ansible_test.sh

.PHONY: help test sanity units integration lint docs demo bench build venv clean distclean \
	$(foreach v,$(ANSIBLE_VERSIONS),venv-$(v) sanity-$(v) units-$(v) integration-$(v))

help:
	@sed -n '1,9p' Makefile | sed 's/^# \{0,1\}//'
	@echo
	@echo "Variables: ANSIBLE='$(ANSIBLE)' (versions), TARGETS='$(TARGETS)' (integration targets),"
	@echo "  ANSIBLE_TEST_ARGS='$(ANSIBLE_TEST_ARGS)', DEMO_PLAYBOOK=$(DEMO_PLAYBOOK),"
	@echo "  TEST_PARALLEL=$(TEST_PARALLEL) (make test: 1 = one lane per version side by side, 0 = one lane),"
	@$(foreach v,$(ANSIBLE_VERSIONS),echo "  PYTHON_$(v)=$(PYTHON_$(v))";)
	@echo "Per version: sanity-X.Y, units-X.Y, integration-X.Y, venv-X.Y (X.Y in: $(ANSIBLE_VERSIONS))"

# ---- virtual environments ------------------------------------------------------------------

venv: $(foreach v,$(sort $(ANSIBLE) $(NEWEST)),venv-$(v))

$(foreach v,$(ANSIBLE_VERSIONS),venv-$(v)): venv-%: .venv-%/.stamp

# Created once, refreshed when an input changes; `make distclean` removes them.
.venv-%/.stamp: $(VENV_INPUTS)
	@python='$(PYTHON_$*)'; \
	if [[ -z "$$python" ]] || ! "$$python" -c 'import sys' 2>/dev/null; then \
	    echo "ERROR: no working Python for ansible-core $*: set PYTHON_$*=/path/to/python" >&2; exit 1; \
	fi; \
	if [[ ! -x .venv-$*/bin/python ]]; then \
	    echo "== creating .venv-$* with $$python"; \
	    "$$python" -m venv .venv-$*; \
	fi
	@minor='$*'; minor=$${minor#*.}; \
	echo "== installing ansible-core $*.x and tools into .venv-$*"; \
	.venv-$*/bin/python -m pip install --quiet --disable-pip-version-check \
	    "ansible-core>=$*,<2.$$((minor + 1))" -r requirements.txt -r tools/requirements-test.txt \
	    $(if $(filter $*,$(NEWEST)),-r tools/requirements-newest.txt) \
	    2> >(grep -v "^WARNING: Location 'file:" >&2)
	@.venv-$*/bin/ansible --version | head -n 1
	@touch $@

# ---- ansible-test --------------------------------------------------------------------------

# $(call ansible_test,COMMAND,VERSION,ARGS): stage a copy of the collection, then run
# `ansible-test COMMAND` in it with the version's venv (--venv: ansible-test makes its own
# virtual environments from PyPI, --requirements: and installs what the command needs).
define ansible_test
	@tools/prepare_ansible_test.sh $(call venv,$(2))
	@tools/stage_collection.sh $(TMP)/$(1)-$(2) >/dev/null
	@pyver=$$($(call venv,$(2))/bin/python -c 'import sys; print("%d.%d" % sys.version_info[:2])'); \
	cd $(call staged,$(1)-$(2)) && \
	echo "== ansible-test $(1) (ansible-core $(2), Python $$pyver) in $$PWD" && \
	PATH="$(call venv,$(2))/bin:$$PATH" ANSIBLE_TEST_CONTENT_ROOT="$$PWD" \
	    ansible-test $(1) --venv --requirements --python "$$pyver" $(3) $(ANSIBLE_TEST_ARGS)
endef

sanity: $(foreach v,$(ANSIBLE),sanity-$(v))
units: $(foreach v,$(ANSIBLE),units-$(v))
integration: $(foreach v,$(ANSIBLE),integration-$(v))

$(foreach v,$(ANSIBLE_VERSIONS),sanity-$(v)): sanity-%: venv-%
	$(call ansible_test,sanity,$*)

$(foreach v,$(ANSIBLE_VERSIONS),units-$(v)): units-%: venv-%
	$(call ansible_test,units,$*)

$(foreach v,$(ANSIBLE_VERSIONS),integration-$(v)): integration-%: venv-%
	$(call ansible_test,integration,$*,$(TARGETS))

# ---- lint, docs, build ---------------------------------------------------------------------

lint: venv-$(NEWEST)
	@tools/stage_collection.sh $(TMP)/lint >/dev/null
	@echo "== ansible-lint (production profile) in $(call staged,lint)"
	@cd $(call staged,lint) && export PATH="$(call venv,$(NEWEST))/bin:$$PATH" \
	    ANSIBLE_COLLECTIONS_PATH=$(TMP)/lint && \
	    ansible-lint --version && ansible-lint --offline --profile production

docs: venv-$(NEWEST)
	@tools/stage_collection.sh $(TMP)/docs-src >/dev/null
	@PATH="$(call venv,$(NEWEST))/bin:$$PATH" tools/build_docs.sh $(TMP)/docs-src $(TMP)/docs

build: venv-$(NEWEST)
	@tools/stage_collection.sh $(TMP)/build-src >/dev/null
	@mkdir -p $(TMP)/dist
	@PATH="$(call venv,$(NEWEST))/bin:$$PATH" ansible-galaxy collection build --force \
	    --output-path $(TMP)/dist $(call staged,build-src)

# ---- demo ----------------------------------------------------------------------------------

demo: venv-$(NEWEST)
	@tools/run_demo.sh $(call venv,$(NEWEST)) $(DEMO_PLAYBOOK)

# Times the collection, hand-written ansible.builtin.uri playbooks and a floor for three jobs
# (fan-out, validate, rotation), alternated over rounds; prints one table and writes
# .tmp/bench/results.json. BENCH_ARGS: e.g. --rounds 5, --jobs rotation, --hosts 40 (see
# tools/benchmark.py --help). A measurement to read, never a pass/fail test.
BENCH_ARGS ?=
bench: venv-$(NEWEST)
	@$(call venv,$(NEWEST))/bin/python tools/benchmark.py $(BENCH_ARGS)

# ---- everything ----------------------------------------------------------------------------

# Set up all venvs first (a failure there stops everything), then run every stage even when
# one fails, and end with a summary; the exit code is non-zero when any stage failed.
# Stages run in lanes, side by side: one lane per ansible-core version, one for lint + docs.
# TEST_PARALLEL=0 runs them all in one lane, streaming the output.
TEST_PARALLEL ?= 1
TEST_LANES = $(foreach v,$(ANSIBLE),"units-$(v) integration-$(v) sanity-$(v)") "lint docs"
ifeq ($(TEST_PARALLEL),0)
TEST_LANES = "$(foreach v,$(ANSIBLE),units-$(v)) $(foreach v,$(ANSIBLE),integration-$(v)) \
	$(foreach v,$(ANSIBLE),sanity-$(v)) lint docs"
endif

test: venv
	@$(foreach v,$(ANSIBLE),tools/prepare_ansible_test.sh $(call venv,$(v)) &&) true
	@tools/run_stages.sh $(MAKE) $(TMP)/logs $(TEST_LANES)

clean:
	rm -rf $(TMP)

distclean: clean
	rm -rf $(foreach v,$(ANSIBLE_VERSIONS),$(call venv,$(v)))

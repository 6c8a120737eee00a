# Copyright (c) eightbyeight.contactnow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Build, test and demo tooling for the eightbyeight.contactnow collection.
#
# On a fresh machine these do all the setup themselves (virtual environments from PyPI, the
# offline get-pip stand-in for ansible-test, a staged copy of the collection):
#   make demo          build + install the collection, run the demo playbook against a sandbox
#   make test          everything CI runs: one line per stage as it ends (full logs in .tmp/logs/)
#                      and the total; about 14 minutes on an idle 2-core machine
# For developers (each runs alone; ANSIBLE=2.21, 2.20 or 2.19 picks one ansible-core):
#   make sanity | units | integration      ansible-test (--venv: no container engine here)
#   make lint | docs | checks | build      antsibull-nox sessions (noxfile.py, antsibull-nox.toml)
#   make venv | clean | distclean
#   make bench         the collection timed against hand-written uri playbooks (not a test)
#   make fuzz          the unit tests' fuzzing with FUZZ_EXAMPLES (100000) examples instead of 6000
# `make help` prints the lines above and the variables.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:
MAKEFLAGS += --no-print-directory

# ---- versions ------------------------------------------------------------------------------

# ansible-core versions (X.Y) tested, newest first: every supported one (meta/runtime.yml
# requires_ansible and the README say the same range). Sanity and units run on all of them,
# integration on the newest and the oldest (INTEGRATION_VERSIONS).
ANSIBLE_VERSIONS := 2.21 2.20 2.19
INTEGRATION_VERSIONS := $(firstword $(ANSIBLE_VERSIONS)) $(lastword $(ANSIBLE_VERSIONS))
# The versions a command runs on; `make integration ANSIBLE=2.21` picks one (a version given
# this way is run even when it is not in INTEGRATION_VERSIONS).
ANSIBLE ?= $(ANSIBLE_VERSIONS)
ifeq ($(origin ANSIBLE),file)
INTEGRATION_ANSIBLE := $(INTEGRATION_VERSIONS)
else
INTEGRATION_ANSIBLE := $(ANSIBLE)
endif
# Lint, docs and the demo use the newest.
NEWEST := $(firstword $(ANSIBLE_VERSIONS))

# Python for each version's virtual environment (full paths: the pyenv python3.12 shim does not
# resolve here), each a controller Python that version supports: 2.19 takes 3.11-3.13, 2.20 and
# 2.21 take 3.12-3.14. Three different ones, so the matrix covers 3.11, 3.12 and 3.13.
# Override with e.g. PYTHON_2.21=/usr/bin/python3.13.
pyenv_python = $(firstword $(wildcard $(HOME)/.pyenv/versions/$(1).*/bin/python) $(shell command -v python$(1)))
PYTHON_2.21 ?= $(call pyenv_python,3.12)
PYTHON_2.20 ?= $(call pyenv_python,3.13)
PYTHON_2.19 ?= $(firstword $(call pyenv_python,3.11) python3)

# ---- knobs ---------------------------------------------------------------------------------

# Integration targets to run (empty: all of them), e.g. TARGETS=sandbox_smoke.
TARGETS ?=
# Extra arguments for ansible-test, e.g. ANSIBLE_TEST_ARGS=-vvv or --test pylint for sanity.
ANSIBLE_TEST_ARGS ?=
# Extra arguments for nox, e.g. NOX_ARGS=-v.
NOX_ARGS ?=
# Playbook `make demo` runs.
DEMO_PLAYBOOK ?= demo/demo.yml

# ---- paths ---------------------------------------------------------------------------------

COLLECTION := eightbyeight/contactnow
# What running ansible-test without a container engine needs (see its README).
LOCAL_ANSIBLE_TEST := tools/local-ansible-test
TMP := $(CURDIR)/.tmp
venv = $(CURDIR)/.venv-$(1)
# Each command tests its own staged copy, so that commands can run side by side.
staged = $(TMP)/$(1)/ansible_collections/$(COLLECTION)

# A venv is refreshed when one of these changes.
VENV_INPUTS := Makefile requirements.txt tools/requirements-test.txt \
	$(LOCAL_ANSIBLE_TEST)/get_pip_standin.py $(LOCAL_ANSIBLE_TEST)/prepare_ansible_test.sh

.PHONY: help test sanity units integration lint docs checks demo bench fuzz build venv clean distclean \
	$(foreach v,$(ANSIBLE_VERSIONS),venv-$(v) sanity-$(v) units-$(v) integration-$(v))

help:
	@sed -n '4,16p' Makefile | sed 's/^# \{0,1\}//'
	@echo
	@echo "Variables: ANSIBLE='$(ANSIBLE)' (versions), TARGETS='$(TARGETS)' (integration targets),"
	@echo "  ANSIBLE_TEST_ARGS='$(ANSIBLE_TEST_ARGS)', NOX_ARGS='$(NOX_ARGS)', DEMO_PLAYBOOK=$(DEMO_PLAYBOOK),"
	@echo "  TEST_PARALLEL=$(TEST_PARALLEL) (make test: 1 = lanes side by side, 0 = everything in one lane),"
	@$(foreach v,$(ANSIBLE_VERSIONS),echo "  PYTHON_$(v)=$(PYTHON_$(v))";)
	@echo "Per version: sanity-X.Y, units-X.Y, integration-X.Y, venv-X.Y (X.Y in: $(ANSIBLE_VERSIONS));"
	@echo "  integration runs on $(INTEGRATION_VERSIONS) unless ANSIBLE is given"

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
	    2> >(grep -v "^WARNING: Location 'file:" >&2)
	@.venv-$*/bin/ansible --version | sed -n 1p
	@touch $@

# ---- ansible-test --------------------------------------------------------------------------

# $(call ansible_test,COMMAND,VERSION,ARGS): stage a copy of the collection, then run
# `ansible-test COMMAND` in it with the version's venv (--venv: ansible-test makes its own
# virtual environments from PyPI, --requirements: and installs what the command needs).
# Not an antsibull-nox session: those run ansible-test with --docker, and there is no container
# engine here. Hence the scripts in tools/local-ansible-test/ (its README says why each exists
# and what a machine with Docker uses instead).
# SHARED_DELEGATION_VENV=1 (set by `make test`, whose units and integration of one version run
# one after another): the staged copies of a version share the virtual environment ansible-test --venv
# makes (tests/output/.tmp/delegation), so it is created and filled once per version instead of
# once per command. Unset, each command keeps its own, so that commands can run side by side.
SHARED_DELEGATION_VENV ?=
define ansible_test
	@$(LOCAL_ANSIBLE_TEST)/prepare_ansible_test.sh $(call venv,$(2))
	@$(LOCAL_ANSIBLE_TEST)/stage_collection.sh $(TMP)/$(1)-$(2) >/dev/null
	@delegation=$(call staged,$(1)-$(2))/tests/output/.tmp/delegation; \
	if [[ -L "$$delegation" ]]; then rm "$$delegation"; fi; \
	if [[ -n "$(SHARED_DELEGATION_VENV)" ]]; then \
	    rm -rf "$$delegation" && mkdir -p "$(TMP)/delegation-$(2)" "$${delegation%/*}" && \
	    ln -s "$(TMP)/delegation-$(2)" "$$delegation"; \
	fi
	@pyver=$$($(call venv,$(2))/bin/python -c 'import sys; print("%d.%d" % sys.version_info[:2])'); \
	cd $(call staged,$(1)-$(2)) && \
	echo "== ansible-test $(1) (ansible-core $(2), Python $$pyver) in $$PWD" && \
	PATH="$(call venv,$(2))/bin:$$PATH" ANSIBLE_TEST_CONTENT_ROOT="$$PWD" \
	    ansible-test $(1) --venv --requirements --python "$$pyver" $(3) $(ANSIBLE_TEST_ARGS)
endef

sanity: $(foreach v,$(ANSIBLE),sanity-$(v))
units: $(foreach v,$(ANSIBLE),units-$(v))
integration: $(foreach v,$(INTEGRATION_ANSIBLE),integration-$(v))

# Sanity runs beside the integration of its version in `make test`: never the shared venv.
$(foreach v,$(ANSIBLE_VERSIONS),sanity-$(v)): SHARED_DELEGATION_VENV :=
$(foreach v,$(ANSIBLE_VERSIONS),sanity-$(v)): sanity-%: venv-%
	$(call ansible_test,sanity,$*)

$(foreach v,$(ANSIBLE_VERSIONS),units-$(v)): units-%: venv-%
	$(call ansible_test,units,$*)

# Integration runs with -vvv; its output is then scanned for every password and token the sandboxes
# saw (tools/scan_secrets.py), also when a target failed.
$(foreach v,$(ANSIBLE_VERSIONS),integration-$(v)): integration-%: venv-%
	@mkdir -p $(TMP) && rm -rf $(call staged,integration-$*)/tests/output/sandbox-secrets $(TMP)/integration-$*.failed \
	    $(call staged,integration-$*)/tests/output/data
	$(call ansible_test,integration,$*,-vvv $(TARGETS)) 2>&1 | tee $(TMP)/integration-$*.log || touch $(TMP)/integration-$*.failed
	@$(call venv,$*)/bin/python $(LOCAL_ANSIBLE_TEST)/integration_times.py $(call staged,integration-$*)
	@$(call venv,$*)/bin/python tools/scan_secrets.py $(TMP)/integration-$*.log $(call staged,integration-$*)/tests/output/sandbox-secrets
	@test ! -e $(TMP)/integration-$*.failed

# ---- antsibull-nox sessions: lint, docs, checks, build -------------------------------------

# nox from the newest venv; each session makes its own virtual environment under .tmp/nox
# (reused while its requirements are unchanged) and stages the collection itself.
NOX = cd $(CURDIR) && $(call venv,$(NEWEST))/bin/nox --envdir $(TMP)/nox --reuse-venv=yes $(NOX_ARGS)

# flake8 and yamllint (the `lint` session), ansible-lint (production profile, .ansible-lint).
lint: venv-$(NEWEST)
	@$(NOX) -s lint ansible-lint

# antsibull-docs lint-collection-docs (docs-check), then the Sphinx site (docs-build).
docs: venv-$(NEWEST)
	@$(NOX) -s docs-check docs-build

# No unwanted files, action groups, trailing whitespace (extra-checks); licence notices
# (license-check); build + galaxy-importer (build-import-check); the EE build context (ee-create).
checks: venv-$(NEWEST)
	@$(NOX) -s extra-checks license-check build-import-check ee-create

# The tarball build-import-check built and galaxy-importer accepted, copied to .tmp/dist.
build: venv-$(NEWEST)
	@$(NOX) -s build-import-check
	@mkdir -p $(TMP)/dist
	@cp $(TMP)/nox/build-import-check/tmp/collection/*.tar.gz $(TMP)/dist/
	@ls $(TMP)/dist/*.tar.gz

# ---- demo ----------------------------------------------------------------------------------

demo: venv-$(NEWEST)
	@tools/run_demo.sh $(call venv,$(NEWEST)) $(DEMO_PLAYBOOK)

# Times the collection, hand-written ansible.builtin.uri playbooks and a floor for four jobs
# (fan-out, validate, rotation, fleet), alternated over rounds; prints one table and writes
# .tmp/bench/results.json. BENCH_ARGS: e.g. --rounds 5, --jobs rotation, --hosts 40 (see
# tools/benchmark.py --help). A measurement to read, never a pass/fail test.
BENCH_ARGS ?=
bench: venv-$(NEWEST)
	@$(call venv,$(NEWEST))/bin/python tools/benchmark.py $(BENCH_ARGS)

# The unit tests' fuzzing (hypothesis, fixed seed) with FUZZ_EXAMPLES examples instead of 6000.
FUZZ_EXAMPLES ?= 100000
fuzz: venv-$(NEWEST)
	@cd "$$($(LOCAL_ANSIBLE_TEST)/stage_collection.sh $(TMP)/fuzz)" && CONTACTNOW_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) PYTHONPATH=$(TMP)/fuzz $(call venv,$(NEWEST))/bin/python -m pytest -q -p no:cacheprovider tests/unit/plugins/module_utils/test_fuzz.py

# ---- everything ----------------------------------------------------------------------------

# Set up all venvs first (a failure there stops everything), then run every stage even when
# one fails (tools/local-ansible-test/run_stages.sh): one line per stage as it ends, with its log in .tmp/logs/
# and, when it failed, the log's last lines; the exit code is non-zero when any stage failed.
# Stages run in lanes, side by side: one lane per ansible-core version that runs integration,
# one for the other versions; lint, docs and checks are spread over them so the lanes take
# about as long as each other.
# TEST_PARALLEL=0 runs them all in one lane, one after another.
TEST_PARALLEL ?= 1
lane_versions := $(filter $(INTEGRATION_ANSIBLE),$(ANSIBLE))
other_versions := $(filter-out $(INTEGRATION_ANSIBLE),$(ANSIBLE))
# One lane per version that runs integration, holding only its units and integration (the long
# poles, which share their virtual environment: SHARED_DELEGATION_VENV), and one lane for the
# rest: the other versions' units, every sanity run and the nox sessions. Sanity keeps its own
# virtual environment, since it runs beside the integration of the same version.
TEST_LANES = $(foreach v,$(lane_versions),"units-$(v) integration-$(v)") \
	"$(foreach v,$(other_versions),units-$(v)) $(foreach v,$(ANSIBLE),sanity-$(v)) lint docs checks"
ifeq ($(TEST_PARALLEL),0)
TEST_LANES = "$(foreach v,$(ANSIBLE),units-$(v)) $(foreach v,$(INTEGRATION_ANSIBLE),integration-$(v)) \
	$(foreach v,$(ANSIBLE),sanity-$(v)) lint docs checks"
endif

# The venvs are made side by side (pip waits on the network as much as on the CPU).
test:
	@$(MAKE) -j $(words $(ANSIBLE)) --output-sync=target venv
	@$(foreach v,$(ANSIBLE),$(LOCAL_ANSIBLE_TEST)/prepare_ansible_test.sh $(call venv,$(v)) &&) true
	@SHARED_DELEGATION_VENV=1 $(LOCAL_ANSIBLE_TEST)/run_stages.sh $(MAKE) $(TMP)/logs $(TEST_LANES)

clean:
	rm -rf $(TMP)

distclean: clean
	rm -rf $(foreach v,$(ANSIBLE_VERSIONS),$(call venv,$(v)))

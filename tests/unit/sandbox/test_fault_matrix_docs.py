# -*- coding: utf-8 -*-
# Copyright (c) eightbyeight.contactnow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The fault table of the troubleshooting guide, the fault_matrix target's table and the sandbox agree."""

from __future__ import annotations

import importlib.util
import os

import yaml

REPO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..")


def load(name, path):
    spec = importlib.util.spec_from_file_location(name, os.path.join(REPO, path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


table_tool = load("fault_matrix_table", "tools/fault_matrix_table.py")
sandbox = load("contactnow_sandbox", "tests/sandbox/contactnow_sandbox.py")

with open(table_tool.TABLE, encoding="utf-8") as _handle:
    TABLE = yaml.safe_load(_handle)

# The faults issue 9 names, each to be tried on every action.
REQUIRED = ("http_500", "http_503", "http_429", "reset_before", "reset_after", "truncated", "html", "garbage",
            "delay", "oversized", "trickle")


def test_docs_table_is_generated_from_the_matrix():
    with open(table_tool.DOCS, encoding="utf-8") as handle:
        docs = handle.read()
    start, end = table_tool.current_section(docs)
    assert start is not None, "no fault-matrix section in troubleshooting.rst"
    assert docs[start:end] == table_tool.render(TABLE), "run: python tools/fault_matrix_table.py --write"


def test_check_mode_fails_on_drift(tmp_path, monkeypatch):
    stale = tmp_path / "troubleshooting.rst"
    with open(table_tool.DOCS, encoding="utf-8") as handle:
        stale.write_text(handle.read().replace("recovers (retried)", "recovers", 1), encoding="utf-8")
    monkeypatch.setattr(table_tool, "DOCS", str(stale))
    assert table_tool.main(["--check"]) == 1


def test_every_required_fault_meets_every_action():
    covered = {}
    for case in TABLE["fault_matrix_cases"]:
        covered.setdefault(case["inject"]["kind"], set()).update(case["expect"])
    for kind in REQUIRED:
        assert covered.get(kind) == set(table_tool.ACTIONS), kind


def test_cases_are_well_formed_sandbox_faults():
    names = [case["name"] for case in TABLE["fault_matrix_cases"]]
    assert len(names) == len(set(names))
    for case in TABLE["fault_matrix_cases"]:
        assert case["inject"]["kind"] in sandbox.FAULT_KINDS, case["name"]
        assert case["count"] in (1, "all"), case["name"]
        for action, expect in case["expect"].items():
            assert action in table_tool.ACTIONS
            if action == "newpass":
                assert expect["result"] in ("failed", "changed")
                assert expect["live_password"] in ("current", "new", "unknown")
                assert expect["sandbox"] in ("current", "new")
                # never claim more than is known: "current" only where nothing could have changed
                assert expect["live_password"] != "current" or expect["sandbox"] == "current"
                assert expect["result"] != "changed" or expect["live_password"] == "new"
            else:
                assert expect == "recovered" or (isinstance(expect, dict) and set(expect) == {"failed"}), (case["name"], action)

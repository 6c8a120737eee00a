#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright (c) eightbyeight.contactnow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The fault table of the troubleshooting guide, generated from the fault_matrix target's table.

The fault_matrix integration target runs every token.php action against every sandbox fault and
checks each outcome against tests/integration/targets/fault_matrix/vars/main.yml. This script
renders that same table as the "What each fault does" section of
docs/docsite/rst/troubleshooting.rst (between the ``.. fault-matrix-start`` and
``.. fault-matrix-end`` comments), so the docs say exactly what the test proves.

    python tools/fault_matrix_table.py            print the section
    python tools/fault_matrix_table.py --check    exit 1 (and say so) when the docs differ
    python tools/fault_matrix_table.py --write    rewrite the section in the docs

tests/unit/sandbox/test_fault_matrix_docs.py runs the check in `make units`.
"""

from __future__ import annotations

import argparse
import os
import sys

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TABLE = os.path.join(REPO, "tests", "integration", "targets", "fault_matrix", "vars", "main.yml")
DOCS = os.path.join(REPO, "docs", "docsite", "rst", "troubleshooting.rst")
START = ".. fault-matrix-start"
END = ".. fault-matrix-end"
ACTIONS = ("get", "validate", "delete", "newpass")


def describe(action, expect):
    """One cell of the docs table."""
    if expect is None:
        return "not retried anyway: as the ``%s`` row above" % action if action == "newpass" else "--"
    if expect == "recovered":
        return "recovers (retried)" if action != "delete" else "recovers (retried, or the token found gone)"
    if action == "newpass":
        if expect["result"] == "changed":
            return "succeeds, changed; ``live_password: %s``" % expect["live_password"]
        why = ""
        if expect["live_password"] == "unknown":
            why = (" (the change lands after the module gave up)" if expect["sandbox"] == "new"
                   else " (nothing changed, which the module cannot know)")
        return "fails; ``live_password: %s``%s" % (expect["live_password"], why)
    return "fails: ``%s``" % expect["failed"]


def render(table):
    lines = [
        START,
        "",
        "What each fault does",
        "--------------------",
        "",
        "Each row is a fault the sandbox injects (see",
        ":ref:`the sandbox guide <ansible_collections.eightbyeight.contactnow.docsite.sandbox>`), each column",
        "the action it meets, with ``timeout: %d`` and ``retries: %d``. This table is generated from the"
        % (table["fault_matrix_timeout"], table["fault_matrix_retries"]),
        "``fault_matrix`` integration test",
        "(``tools/fault_matrix_table.py``), which checks every cell against a real run. *recovers*: the first",
        "attempt met the fault and the task succeeded all the same. *fails*: the task failed with one line",
        '``ContactNow <action> request to <host> failed: ...`` containing the text shown, within about',
        "``timeout`` seconds per attempt. ``newpass`` is sent once and never retried; after a lost reply",
        "``contactnow_password`` asks which password is live and returns ``live_password`` (``unknown``: keep",
        "both passwords, a re-run settles it -- the ``rotate_password`` role does so).",
        "",
        ".. list-table::",
        "   :header-rows: 1",
        "   :widths: 28 18 18 18 18",
        "",
        "   * - fault",
    ]
    lines.extend("     - ``%s``" % action for action in ACTIONS)
    for case in table["fault_matrix_cases"]:
        lines.append("   * - ``%s``: %s" % (case["inject"]["kind"], case["what"]))
        for action in ACTIONS:
            lines.append("     - %s" % describe(action, case["expect"].get(action)))
    lines.extend(["", END])
    return "\n".join(lines) + "\n"


def current_section(text):
    start, end = text.find(START), text.find(END)
    if start < 0 or end < start:
        return None, None
    end += len(END) + 1  # and its newline
    return start, end


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--check", action="store_true", help="exit 1 when the docs differ from the table")
    group.add_argument("--write", action="store_true", help="rewrite the section of the docs")
    args = parser.parse_args(argv)
    with open(TABLE, encoding="utf-8") as handle:
        section = render(yaml.safe_load(handle))
    if not (args.check or args.write):
        sys.stdout.write(section)
        return 0
    with open(DOCS, encoding="utf-8") as handle:
        text = handle.read()
    start, end = current_section(text)
    if args.check:
        if start is None or text[start:end] != section:
            sys.stderr.write("%s: the fault table differs from %s; run python tools/fault_matrix_table.py --write\n"
                             % (os.path.relpath(DOCS, REPO), os.path.relpath(TABLE, REPO)))
            return 1
        return 0
    if start is None:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        text = text[:start] + section + text[end:]
    with open(DOCS, "w", encoding="utf-8") as handle:
        handle.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

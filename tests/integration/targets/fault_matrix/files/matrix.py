# -*- coding: utf-8 -*-
# Copyright (c) eightbyeight.contactnow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The fault matrix's plumbing: cells from the table, and the check of what each cell did.

    matrix.py cells VARS_YML WORKDIR PYTHON
        writes WORKDIR/inventory.json (one host per cell; the sandbox URLs come as extra vars),
        WORKDIR/faults.json (the body of POST /_sandbox/fault) and WORKDIR/accounts.json (the
        sandbox accounts, mode 0600); prints the cell ids.
    matrix.py check VARS_YML WORKDIR HOST CONTROL_URL
        reads WORKDIR/results.json (written by cells.yml: each cell's results, and the sandbox's
        log and state after the first run), asks the sandbox for its state after the re-runs and
        for its secrets (never printed: a message must not contain one); prints one line per cell
        and a JSON summary {"cells": N, "problems": [...], "newpass_problems": [...]} (newpass
        cells apart); exits 1 when a cell differs from the table.

Passwords are derived from the cell id (see password()), so that no password is ever an argument
or an output of this script.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.request

import yaml

ACTIONS = ("get", "validate", "delete", "newpass")


def password(cell_id, which):
    return "Fm-%s-Pw-%s" % ("Current" if which == "current" else "New", cell_id)


def load_table(path):
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def cells(table):
    """One cell per (case, action) the table expects something of, in table order."""
    retries = table["fault_matrix_retries"]
    found = []
    for index, case in enumerate(table["fault_matrix_cases"], 1):
        for action in ACTIONS:
            if action not in case["expect"]:
                continue
            cell_id = "fm%02d-%s" % (index, action)
            # newpass is sent once (never retried): one fault is "every attempt" there, and a
            # second one would meet the re-run.
            count = retries + 1 if case["count"] == "all" and action != "newpass" else int(case["count"] if case["count"] != "all" else 1)
            fault = dict(case["inject"], action=action, username=cell_id, count=count)
            found.append({"id": cell_id, "case": case["name"], "action": action, "kind": case["inject"]["kind"],
                          "fault": fault, "expect": case["expect"][action]})
    return found


def write_json(path, data):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=1, sort_keys=True)


def read_json(path):
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def cmd_cells(vars_path, workdir, python):
    table = load_table(vars_path)
    found = cells(table)
    hosts = {}
    for cell in found:
        hosts[cell["id"]] = {"fm_action": cell["action"], "fm_pw_current": password(cell["id"], "current"),
                             "fm_pw_new": password(cell["id"], "new")}
    inventory = {
        "cells": {
            "hosts": hosts,
            "vars": {"ansible_connection": "local", "ansible_python_interpreter": python,
                     "fm_timeout": table["fault_matrix_timeout"],
                     "fm_retries": table["fault_matrix_retries"], "fm_cache": os.path.join(workdir, "cache")},
        },
        "newpass": {"hosts": {cell["id"]: {} for cell in found if cell["action"] == "newpass"}},
    }
    write_json(os.path.join(workdir, "inventory.json"), inventory)
    write_json(os.path.join(workdir, "faults.json"), {"faults": [cell["fault"] for cell in found]})
    write_json(os.path.join(workdir, "accounts.json"), {cell["id"]: password(cell["id"], "current") for cell in found})
    print(json.dumps([cell["id"] for cell in found]))


def check_idempotent(cell, result, outcomes, host, retries):
    expect, action, kind = cell["expect"], cell["action"], cell["kind"]
    msg = result.get("msg") or ""
    problems = []

    def need(condition, what):
        if not condition:
            problems.append(what)

    need(1 <= len(outcomes) <= retries + 1, "%d %s requests, expected 1 to %d" % (len(outcomes), action, retries + 1))
    if expect == "recovered":
        need(not result.get("failed"), "failed: %s" % msg)
        need(outcomes[:1] == ["fault:" + kind], "first attempt did not meet the fault")
        if action == "delete":
            # A delete carried out under the fault leaves the retry "Invalid token" (done), or the
            # module may find the token gone without sending another delete.
            need(outcomes[1:] in ([], ["ok"], ["Invalid token"]), "later deletes: %s" % outcomes[1:])
            need(result.get("changed") is True, "delete not reported as a change")
        else:
            need(outcomes[1:] == ["ok"], "later attempts: %s" % outcomes[1:])
        if action == "get":
            need(isinstance(result.get("token"), str) and len(result["token"]) == 40, "no token returned")
        if action == "validate":
            need(result.get("valid") is True, "token not reported valid")
    else:
        prefix = "ContactNow %s request to %s failed: " % (action, host)
        need(result.get("failed") is True, "did not fail")
        need(msg.startswith(prefix), "message does not start with %r" % prefix)
        need(expect["failed"] in msg, "message lacks %r" % expect["failed"])
        need(set(outcomes) == {"fault:" + kind}, "attempts: %s" % outcomes)
        need("token" not in result or action != "get", "a failed get returned a token")
    return problems, msg


def check_newpass(cell, result, rerun, newpass_outcomes, changed_count, final_count):
    expect, kind = cell["expect"], cell["kind"]
    msg = result.get("msg") or ""
    problems = []

    def need(condition, what):
        if not condition:
            problems.append(what)

    need(bool(result.get("failed")) == (expect["result"] == "failed"),
         "failed=%s, expected %s" % (bool(result.get("failed")), expect["result"]))
    if expect["result"] == "changed":
        need(result.get("changed") is True, "not reported changed")
    need(result.get("live_password") == expect["live_password"],
         "live_password %s, expected %s" % (result.get("live_password", "not returned"), expect["live_password"]))
    need(newpass_outcomes == ["fault:" + kind], "newpass requests: %s (sent exactly once)" % newpass_outcomes)
    live = "new" if changed_count else "current"
    need(live == expect["sandbox"], "the sandbox accepts the %s password, expected %s" % (live, expect["sandbox"]))
    # The re-run without faults converges: new password live, changed only if it was not yet.
    need(rerun is not None and not rerun.get("failed"), "re-run failed: %s" % ((rerun or {}).get("msg")))
    if rerun is not None and not rerun.get("failed"):
        need(rerun.get("live_password") == "new", "re-run live_password %s" % rerun.get("live_password", "not returned"))
        need(rerun.get("changed") is (live == "current"), "re-run changed=%s" % rerun.get("changed"))
    need(final_count == 1, "after the re-run the password was changed %d times, expected once" % final_count)
    return problems, msg


def control(control_url, name):
    with urllib.request.urlopen(control_url + "/" + name, timeout=30) as response:
        return json.load(response)


def cmd_check(vars_path, workdir, host, control_url):
    table = load_table(vars_path)
    retries = table["fault_matrix_retries"]
    everything = read_json(os.path.join(workdir, "results.json"))
    results, log, state = everything["cells"], everything["log"]["requests"], everything["state"]["accounts"]
    final_state = control(control_url, "state")["accounts"]
    secrets = control(control_url, "secrets")
    report, newpass_report = [], []
    for cell in cells(table):
        result = results.get(cell["id"], {}).get("r") or {}
        outcomes = [entry["outcome"] for entry in log if entry["account"] == cell["id"] and entry["action"] == cell["action"]]
        if cell["action"] == "newpass":
            problems, msg = check_newpass(cell, result, results.get(cell["id"], {}).get("rerun"), outcomes,
                                          state[cell["id"]]["passwords_changed"], final_state[cell["id"]]["passwords_changed"])
        else:
            problems, msg = check_idempotent(cell, result, outcomes, host, retries)
        # Whatever the outcome: one line, no traceback, no secret.
        if "\n" in msg:
            problems.append("message has several lines")
        if "module_stderr" in result or "Traceback (most recent call last)" in str(result.get("exception", "")):
            problems.append("a traceback")
        if any(secret and secret in msg for secret in secrets["passwords"] + secrets["tokens"]):
            problems.append("a password or token in the message")
        observed = "failed" if result.get("failed") else "ok"
        if cell["action"] == "newpass":
            observed += " live_password=%s" % result.get("live_password", "-")
        verdict = "MISMATCH: " + "; ".join(problems) if problems else "OK"
        print("%-16s %-8s %-16s %-28s %s" % (cell["id"], cell["action"], cell["case"], observed, verdict))
        (newpass_report if cell["action"] == "newpass" else report).extend(
            "%s (%s under %s): %s" % (cell["id"], cell["action"], cell["case"], problem) for problem in problems)
    bad_urls = [entry for entry in log if set(entry["url_args"]) & {"username", "password", "token"}]
    if bad_urls:
        report.append("%d requests carried a credential in the URL" % len(bad_urls))
    print(json.dumps({"cells": len(cells(table)), "problems": report, "newpass_problems": newpass_report}))
    return 1 if report or newpass_report else 0


def main(argv):
    if len(argv) == 5 and argv[1] == "cells":
        return cmd_cells(*argv[2:]) or 0
    if len(argv) == 6 and argv[1] == "check":
        return cmd_check(*argv[2:])
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))

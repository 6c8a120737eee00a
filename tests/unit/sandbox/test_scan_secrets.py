# -*- coding: utf-8 -*-
# Copyright (c) eightbyeight.contactnow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""tools/scan_secrets.py finds what it must, and only that (a scanner that never fails proves nothing)."""

from __future__ import annotations

import importlib.util
import json
import os

import pytest

PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "tools", "scan_secrets.py")
SPEC = importlib.util.spec_from_file_location("scan_secrets", PATH)
scan = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(scan)

PASSWORD = "Scan-Test-Pass-123"
TOKEN = "ab" * 20
OTHER_TOKEN = "cd" * 20


def result(host, body):
    return "ok: [%s] => %s" % (host, json.dumps(body, indent=4))


@pytest.fixture
def secrets_dir(tmp_path):
    directory = tmp_path / "secrets"
    directory.mkdir()
    (directory / "one.json").write_text(json.dumps({"passwords": [PASSWORD], "tokens": [TOKEN], "credentials_in_urls": []}))
    return directory


def run(tmp_path, secrets_dir, text, capsys):
    log = tmp_path / "out.log"
    log.write_text(text)
    code = scan.main(["scan_secrets.py", str(log), str(secrets_dir)])
    return code, capsys.readouterr().out


def test_clean_output_with_returned_tokens_passes(tmp_path, secrets_dir, capsys):
    text = "\n".join([
        "TASK [get a token] ***",
        result("testhost", {"changed": True, "token": TOKEN, "expire": 1, "invocation": {"module_args": {
            "password": "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER", "username": "u"}}}),
        result("testhost", {"ansible_facts": {"held": TOKEN}, "changed": False}),
        "[ERROR]: Task failed: ContactNow get request to 127.0.0.1:1 failed: the server answered HTTP 503",
        # a token-like value nobody issued is not a finding
        "[WARNING]: something %s" % OTHER_TOKEN,
    ])
    code, out = run(tmp_path, secrets_dir, text, capsys)
    assert code == 0 and "clean" in out


@pytest.mark.parametrize("text, where", [
    ("<testhost> EXEC /bin/sh -c 'CONTACTNOW_PASSWORD=%s /usr/bin/python'" % PASSWORD, "a password"),
    (result("testhost", {"msg": "failed for %s" % PASSWORD}), "a password"),
    (result("testhost", {"msg": "ContactNow validate request failed for token %s" % TOKEN}), "under msg"),
    (result("testhost", {"invocation": {"module_args": {"token": TOKEN}}}), "under invocation/module_args"),
    ("[ERROR]: Task failed: bad token %s" % TOKEN, "message line"),
    (result("testhost", {"stdout": "line\nfatal: [h]: FAILED! => {\n    \"msg\": \"token %s\"\n}\n" % TOKEN}), "under msg"),
])
def test_leaks_are_found_and_never_printed(tmp_path, secrets_dir, capsys, text, where):
    code, out = run(tmp_path, secrets_dir, "TASK [x] ***\n" + text + "\n", capsys)
    assert code == 1
    assert where in out
    assert PASSWORD not in out and TOKEN not in out


def test_credential_in_url_fails(tmp_path, secrets_dir, capsys):
    (secrets_dir / "two.json").write_text(json.dumps({"passwords": [], "tokens": [], "credentials_in_urls": [
        {"action": "get", "path": "/token.php", "url_args": ["password"], "time": 1}]}))
    code, out = run(tmp_path, secrets_dir, "nothing\n", capsys)
    assert code == 1 and "carried password in its URL" in out


def test_no_secrets_files_is_an_error(tmp_path, capsys):
    empty = tmp_path / "none"
    empty.mkdir()
    code, _out = run(tmp_path, empty, "nothing\n", capsys)
    assert code == 2

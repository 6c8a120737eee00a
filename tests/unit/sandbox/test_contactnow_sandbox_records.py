# -*- coding: utf-8 -*-
# Copyright (c) eightbyeight.contactnow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests for the sandbox's records API (tests/sandbox/contactnow_sandbox_records.py), stdlib clients only."""

from __future__ import annotations

import http.client
import json
import threading
import urllib.parse

import pytest

from ansible_collections.eightbyeight.contactnow.tests.unit.sandbox.sandbox_script import load_sandbox

TIMEOUT = 10
PASSWORD = "Secret123"

sandbox = load_sandbox("contactnow_sandbox_for_records")


@pytest.fixture(scope="module")
def server():
    args = sandbox.parse_args(["--port", "0", "--account", "demo:" + PASSWORD])
    srv = sandbox.build_server(args)
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()
    thread.join(TIMEOUT)


def request(server, path, query=None, form=None, raw=None, method="POST"):
    """Return (status, body bytes); raises ConnectionError subclasses when the server hangs up."""
    connection = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=TIMEOUT)
    try:
        url = path + ("?" + urllib.parse.urlencode(query) if query else "")
        headers, body = {}, None
        if form is not None:
            body, headers = urllib.parse.urlencode(form).encode(), {"Content-Type": "application/x-www-form-urlencoded"}
        elif raw is not None:
            body, headers = json.dumps(raw).encode(), {"Content-Type": "application/json"}
        connection.request(method, url, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def control(server, name, params=None):
    status, body = request(server, "/_sandbox/" + name, raw=params if params is not None else {})
    assert status == 200, body
    return json.loads(body)


@pytest.fixture
def token(server):
    control(server, "reset")
    status, body = request(server, "/token.php", form={"action": "get", "username": "demo", "password": PASSWORD})
    assert status == 200
    return json.loads(body)["token"]


def read(server, token, path="/database.php", **args):
    form = dict(token=token, action="read", **args)
    status, body = request(server, path, form=form)
    assert status == 200
    return body


def write(server, token, action, records, path="/ecnow.php", method="ecnow_records", **args):
    status, body = request(server, path, query=dict(token=token, method=method, action=action, format="json", **args), raw=records)
    assert status == 200
    return json.loads(body)


def test_database_answers_xml_by_default_and_json_on_request(server, token):
    xml = read(server, token, method="campaigns")
    assert xml.startswith(b'<?xml version="1.0"?>\n<result><success>1</success><total>3</total><list><item><id>1</id>')
    reply = json.loads(read(server, token, method="campaigns", format="json"))
    assert reply["success"] is True and reply["total"] == 3
    assert [row["name"] for row in reply["list"]] == ["Spring renewals", "Inbound support", "Winter survey"]


def test_other_scripts_answer_json_by_default_also_under_api(server, token):
    reply = json.loads(read(server, token, path="/api/ecnow.php", method="ecnow_datasets"))
    assert reply["total"] == 1 and reply["list"][0]["state"] == "LIVE"


def test_params_are_equality_filters_and_fields_picks_columns(server, token):
    reply = json.loads(read(server, token, method="outcomecodes", mode="system", answerphone="1", format="json"))
    assert [row["outcome"] for row in reply["list"]] == ["102"]
    reply = json.loads(read(server, token, path="/reporting.php", method="calls", fields="agent,duration", range="1:2"))
    assert reply["list"] == [{"agent": "1001", "duration": "184"}, {"agent": "1002", "duration": "21"}]


@pytest.mark.parametrize("args, error", [
    ({"method": "calls"}, "Bad argument: fields"),
    ({"method": "calls", "fields": "qid", "range": "yesterday"}, "Bad argument: range"),
    ({"method": "nothing"}, "Bad argument: method"),
])
def test_read_errors(server, token, args, error):
    assert json.loads(read(server, token, path="/reporting.php", **args))["error"] == error


def test_token_rules(server, token):
    assert json.loads(read(server, "0" * 40, method="campaigns", format="json")) == {"success": False, "error": "Unknown token"}
    control(server, "advance", {"seconds": 43201})
    assert json.loads(read(server, token, method="campaigns", format="json")) == \
        {"success": False, "error": "Expired token", "expire": -1}


def test_create_update_delete(server, token):
    created = write(server, token, "create", [{"dataset": 1, "HomePhone": "01632960001"}, {"dataset": 1}])
    assert created["total"] == 1 and created["key"] == "1"
    assert created["bad"] == [{"dataset": 1, "error": "missing phone number (one of HomePhone, WorkPhone, MobilePhone)"}]
    assert write(server, token, "update", {"id": 1, "HomePhone": "01632960002"})["total"] == 1
    assert write(server, token, "update", {"id": 1, "HomePhone": "01632960002"})["total"] == 0  # nothing changed
    assert write(server, token, "update", {"id": 9, "HomePhone": "1"})["bad"][0]["error"] == "unknown id"
    rows = json.loads(request(server, "/_sandbox/records", method="GET")[1])
    assert rows["tables"]["ecnow/ecnow_records"] == [{"dataset": "1", "HomePhone": "01632960002", "id": "1"}]
    assert write(server, token, "delete", [{"id": 1}])["total"] == 1
    assert write(server, token, "delete", [{"id": 1}])["total"] == 0  # already gone
    assert json.loads(read(server, token, path="/ecnow.php", method="ecnow_records"))["list"] == []


def test_writes_need_records_and_a_writable_method(server, token):
    assert write(server, token, "create", [], method="ecnow_datasets")["error"] == "Bad argument: no records in the body"
    assert write(server, token, "create", [{"table": "x"}], method="campaign_tables")["error"] == \
        "Bad argument: action (campaign_tables is read-only)"


def test_reset_restores_the_seeded_tables(server, token):
    write(server, token, "delete", [{"id": 1}, {"id": 2}, {"id": 3}], path="/database.php", method="campaigns")
    assert json.loads(read(server, token, method="campaigns", format="json"))["total"] == 0
    control(server, "reset")
    tables = json.loads(request(server, "/_sandbox/records", method="GET")[1])["tables"]
    assert len(tables["database/campaigns"]) == 3


def test_a_write_fault_after_the_action_drops_the_reply(server, token):
    control(server, "clear_log")
    assert control(server, "fault", {"kind": "reset_after", "action": "create"})["pending"] == 1
    with pytest.raises((ConnectionError, http.client.HTTPException)):
        write(server, token, "create", [{"dataset": 1, "MobilePhone": "07700900001"}])
    entry = json.loads(request(server, "/_sandbox/log", method="GET")[1])["requests"][-1]
    assert (entry["action"], entry["script"], entry["api_method"]) == ("create", "ecnow", "ecnow_records")
    assert (entry["outcome"], entry["action_outcome"]) == ("fault:reset_after", "ok")
    assert "token" in entry["url_args"] and entry["raw_body"] is True
    assert len(json.loads(request(server, "/_sandbox/records", method="GET")[1])["tables"]["ecnow/ecnow_records"]) == 1


def test_a_read_fault_before_the_action(server, token):
    control(server, "fault", {"kind": "http_503", "action": "read"})
    status, _body = request(server, "/database.php", form={"token": token, "method": "campaigns", "action": "read"})
    assert status == 503
    assert json.loads(read(server, token, method="campaigns", format="json"))["total"] == 3


def test_unknown_scripts_are_404_and_token_php_is_untouched(server, token):
    assert request(server, "/nothing.php", form={"token": token})[0] == 404
    status, body = request(server, "/token.php", form={"action": "validate", "token": token})
    assert status == 200 and json.loads(body)["success"] is True

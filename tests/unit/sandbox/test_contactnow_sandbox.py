# -*- coding: utf-8 -*-
# Copyright (c) eightbyeight.contactnow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests for tests/sandbox/contactnow_sandbox.py, with stdlib HTTP clients only."""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from ansible_collections.eightbyeight.contactnow.tests.unit.sandbox.sandbox_script import SANDBOX_PATH, load_sandbox

TIMEOUT = 10
PASSWORD = "Secret123"

sandbox = load_sandbox("contactnow_sandbox")


class Client:
    """Minimal client for the sandbox: token.php calls and control calls."""

    def __init__(self, base_url, context=None):
        self.base_url = base_url
        self.context = context

    def raw(self, path="/token.php", query=None, body=None, headers=None):
        """Return (status, headers, body bytes); HTTP errors are returned, not raised."""
        url = self.base_url + path
        if query:
            url += "?" + urllib.parse.urlencode(query)
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else urllib.parse.urlencode(body).encode()
        request = urllib.request.Request(url, data=data, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT, context=self.context) as response:
                return response.status, response.headers, response.read()
        except urllib.error.HTTPError as exc:
            with exc:
                return exc.code, exc.headers, exc.read()

    def api(self, query=None, body=None, path="/token.php"):
        status, _headers, payload = self.raw(path, query, body)
        assert status == 200
        return json.loads(payload)

    def action(self, action, **args):
        """An action the way the collection sends it: action in the URL, the rest in the POST body."""
        return self.api({"action": action}, args)

    def control(self, name, params=None):
        body = b"" if params is None else json.dumps(params).encode()
        status, _headers, payload = self.raw("/_sandbox/" + name, body=body, headers={"Content-Type": "application/json"})
        return status, json.loads(payload)

    def get_control(self, name):
        status, _headers, payload = self.raw("/_sandbox/" + name)
        assert status == 200
        return json.loads(payload)


def start_server(extra_args=()):
    args = sandbox.parse_args(["--port", "0", "--account", "demo:" + PASSWORD, "--account", "other:Other1234"] + list(extra_args))
    server = sandbox.build_server(args)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    return server, thread


def stop_server(server, thread):
    server.shutdown()
    server.server_close()
    thread.join(TIMEOUT)


@pytest.fixture(scope="module")
def server():
    srv, thread = start_server()
    yield srv
    stop_server(srv, thread)


@pytest.fixture
def client(server):
    server.state.reset()
    return Client(server.url)


def token_for(client, **extra):
    reply = client.action("get", username="demo", password=PASSWORD, **extra)
    assert reply["success"] is True, reply
    return reply


# --- get ------------------------------------------------------------------------------------


def test_get_returns_token_and_expire(client, server):
    status, headers, payload = client.raw("/token.php", {"action": "get"}, {"username": "demo", "password": PASSWORD})
    assert status == 200
    assert headers["Content-Type"].startswith("text/html")
    reply = json.loads(payload)
    assert payload.startswith(b'{"success":true,"token":"')
    assert re.fullmatch("[0-9a-f]{40}", reply["token"])
    assert abs(reply["expire"] - (server.state.now() + 43200)) <= 2


def test_get_reuses_valid_token(client):
    first = token_for(client)
    client.control("advance", {"seconds": 60})
    assert token_for(client) == first


def test_get_from_query_only_and_api_path(client):
    before = len(client.get_control("secrets")["credentials_in_urls"])  # the server is shared by the tests
    reply = client.api({"action": "get", "username": "demo", "password": PASSWORD}, path="/api/token.php")
    assert reply["success"] is True
    client.control("reset")  # forgets the log, not that credentials went into a URL
    leaks = client.get_control("secrets")["credentials_in_urls"][before:]
    assert [(leak["action"], leak["path"], leak["url_args"]) for leak in leaks] == [("get", "/api/token.php", ["password", "username"])]


def test_body_wins_over_query(client):
    reply = client.api({"action": "get", "username": "demo", "password": "wrong"}, {"password": PASSWORD})
    assert reply["success"] is True


def test_non_urlencoded_body_is_ignored(client):
    status, _headers, payload = client.raw("/token.php", {"action": "get"}, b'{"username": "demo", "password": "Secret123"}',
                                           headers={"Content-Type": "application/json"})
    assert status == 200
    assert json.loads(payload) == {"success": False, "error": "Bad argument: username"}


@pytest.mark.parametrize("args, error", [
    ({}, "Bad argument: username"),
    ({"username": "demo"}, "Bad argument: password"),
    ({"username": "demo", "password": ""}, "Bad argument: password"),
    ({"username": "demo", "password": "wrong"}, "Authentication failure"),
    ({"username": "nobody", "password": PASSWORD}, "Authentication failure"),
    ({"username": "demo", "password": PASSWORD, "address": "not-an-ip"}, "Bad argument: address"),
])
def test_get_errors(client, args, error):
    assert client.action("get", **args) == {"success": False, "error": error}


@pytest.mark.parametrize("query", [{}, {"action": "frobnicate"}])
def test_bad_action(client, query):
    assert client.api(query, {"username": "demo"}) == {"success": False, "error": "Bad argument: action"}


def test_bad_format(client):
    assert client.action("get", username="demo", password=PASSWORD, format="yaml") == {"success": False, "error": "Bad argument: format"}


# --- validate / delete / expiry ---------------------------------------------------------------


def test_validate(client):
    got = token_for(client)
    assert client.action("validate", token=got["token"]) == {"success": True, "expire": got["expire"]}
    assert client.action("validate", token="0" * 40) == {"success": False, "error": "Invalid token"}
    assert client.action("validate") == {"success": False, "error": "Bad argument: token"}


def test_expiry_via_advance(client):
    got = token_for(client)
    status, reply = client.control("advance", {"seconds": 43200})
    assert status == 200 and reply["now"] >= got["expire"]
    assert client.action("validate", token=got["token"]) == {"success": False, "error": "Expired token", "expire": -1}
    assert client.action("delete", token=got["token"]) == {"success": False, "error": "Expired token", "expire": -1}
    fresh = token_for(client)
    assert fresh["token"] != got["token"] and fresh["expire"] > reply["now"]
    assert client.get_control("state")["accounts"]["demo"] == {"tokens": 1, "expired_tokens": 1, "passwords_changed": 0}


def test_token_lifetime_flag():
    srv, thread = start_server(["--token-lifetime", "100"])
    try:
        got = token_for(Client(srv.url))
        assert abs(got["expire"] - (srv.state.now() + 100)) <= 2
    finally:
        stop_server(srv, thread)


def test_delete(client):
    got = token_for(client)
    assert client.action("delete", token=got["token"]) == {"success": True}
    assert client.action("validate", token=got["token"]) == {"success": False, "error": "Invalid token"}
    assert client.action("delete", token=got["token"]) == {"success": False, "error": "Invalid token"}
    assert token_for(client)["token"] != got["token"]


# --- newpass ----------------------------------------------------------------------------------


def test_newpass_changes_password_and_keeps_tokens(client):
    got = token_for(client)
    assert client.action("newpass", token=got["token"], password="NewSecret456") == {"success": True}
    assert client.action("get", username="demo", password=PASSWORD) == {"success": False, "error": "Authentication failure"}
    assert client.action("validate", token=got["token"])["success"] is True
    assert client.action("get", username="demo", password="NewSecret456") == got
    assert client.get_control("state")["accounts"]["demo"]["passwords_changed"] == 1


def test_newpass_revokes_tokens_switch(client):
    """Two runs hold the same token; the first newpass revokes it, so the second is refused."""
    assert client.control("settings", {"newpass_revokes_tokens": True}) == (200, {"ok": True, "newpass_revokes_tokens": True})
    got = token_for(client)
    other = client.action("get", username="other", password="Other1234")["token"]
    assert client.action("newpass", token=got["token"], password="NewSecret456") == {"success": True}
    assert client.action("validate", token=got["token"]) == {"success": False, "error": "Invalid token"}
    assert client.action("newpass", token=got["token"], password="NewSecret456") == {"success": False, "error": "Invalid token"}
    assert client.action("validate", token=other)["success"] is True  # only the account's own tokens
    fresh = client.action("get", username="demo", password="NewSecret456")
    assert fresh["success"] is True and fresh["token"] != got["token"]
    client.control("reset")  # reset restores the switch as started: off
    got = token_for(client)
    assert client.action("newpass", token=got["token"], password="NewSecret456") == {"success": True}
    assert client.action("validate", token=got["token"])["success"] is True


def test_hold_fault_waits_for_release(client):
    """Two runs with one token: the held newpass lands after the other one revoked its token."""
    client.control("settings", {"newpass_revokes_tokens": True})
    got = token_for(client)
    assert client.control("fault", {"kind": "hold", "action": "newpass", "username": "demo"})[0] == 200
    held = {}
    thread = threading.Thread(target=lambda: held.update(client.action("newpass", token=got["token"], password="Held-Secret-1")))
    thread.start()
    wait_for_log_entry(client, lambda entry: entry["action"] == "newpass" and entry["action_outcome"] == "pending")
    assert client.action("newpass", token=got["token"], password="First-Secret-2") == {"success": True}
    assert not held  # still held
    assert client.control("release") == (200, {"ok": True})
    thread.join(TIMEOUT)
    assert held == {"success": False, "error": "Invalid token"}
    assert client.action("get", username="demo", password="First-Secret-2")["success"] is True
    outcomes = [entry["action_outcome"] for entry in client.get_control("log")["requests"] if entry["action"] == "newpass"]
    assert outcomes == ["Invalid token", None]


@pytest.mark.parametrize("params", [{}, {"newpass_revokes_tokens": "yes"}, {"newpass_revokes_tokens": True, "x": 1}])
def test_settings_are_checked(client, params):
    status, reply = client.control("settings", params)
    assert status == 400 and "newpass_revokes_tokens" in reply["error"]


def test_newpass_revokes_tokens_flag():
    srv, thread = start_server(["--newpass-revokes-tokens"])
    try:
        cli = Client(srv.url)
        got = token_for(cli)
        assert cli.action("newpass", token=got["token"], password="NewSecret456") == {"success": True}
        assert cli.action("validate", token=got["token"]) == {"success": False, "error": "Invalid token"}
    finally:
        stop_server(srv, thread)


@pytest.mark.parametrize("password, error", [
    ("", "Bad argument: password"),
    ("short", "Bad argument: password must be at least 8 characters"),
    ("pässwörd-long", "Bad argument: password must contain only printable ASCII characters"),
    ("tab\there-long", "Bad argument: password must contain only printable ASCII characters"),
])
def test_newpass_rules(client, password, error):
    got = token_for(client)
    assert client.action("newpass", token=got["token"], password=password) == {"success": False, "error": error}
    assert token_for(client) == got
    assert client.get_control("state")["accounts"]["demo"]["passwords_changed"] == 0


def test_newpass_needs_valid_token(client):
    assert client.action("newpass", token="f" * 40, password="NewSecret456") == {"success": False, "error": "Invalid token"}
    assert client.action("newpass", password="NewSecret456") == {"success": False, "error": "Bad argument: token"}


def test_min_password_length_flag():
    srv, thread = start_server(["--min-password-length", "12"])
    try:
        cli = Client(srv.url)
        got = token_for(cli)
        reply = cli.action("newpass", token=got["token"], password="elevenchars")
        assert reply == {"success": False, "error": "Bad argument: password must be at least 12 characters"}
    finally:
        stop_server(srv, thread)


# --- address binding --------------------------------------------------------------------------


def call_from(server, source_ip, action, **args):
    """A token.php call whose client address is source_ip (any 127.x address works on Linux)."""
    host, port = server.server_address[:2]
    return exchange(http.client.HTTPConnection(host, port, timeout=TIMEOUT, source_address=(source_ip, 0)), action, args)


def exchange(conn, action, args):
    """POST ``action`` with ``args`` to token.php over ``conn`` (then closed); the decoded reply."""
    try:
        conn.request("POST", "/token.php?action=" + action, urllib.parse.urlencode(args),
                     {"Content-Type": "application/x-www-form-urlencoded"})
        return json.loads(conn.getresponse().read())
    finally:
        conn.close()


@pytest.fixture
def second_loopback(server):
    try:
        call_from(server, "127.0.0.2", "validate", token="x")
    except OSError:
        pytest.skip("cannot use 127.0.0.2 as a source address here")
    return "127.0.0.2"


def test_token_bound_to_requesting_address(client, server, second_loopback):
    mine = token_for(client)
    theirs = call_from(server, second_loopback, "get", username="demo", password=PASSWORD)
    assert theirs["success"] is True and theirs["token"] != mine["token"]
    assert call_from(server, second_loopback, "validate", token=mine["token"]) == {"success": False, "error": "Invalid token"}
    assert client.action("validate", token=theirs["token"]) == {"success": False, "error": "Invalid token"}
    assert client.action("delete", token=theirs["token"]) == {"success": False, "error": "Invalid token"}
    assert client.get_control("state")["accounts"]["demo"]["tokens"] == 2


def test_address_argument_binds_other_address(client, server, second_loopback):
    got = token_for(client, address=second_loopback)
    assert token_for(client, address=second_loopback) == got
    assert client.action("validate", token=got["token"]) == {"success": False, "error": "Invalid token"}
    assert call_from(server, second_loopback, "validate", token=got["token"]) == {"success": True, "expire": got["expire"]}
    assert token_for(client)["token"] != got["token"]


# --- XML ----------------------------------------------------------------------------------------


def test_xml_replies(client):
    status, _headers, payload = client.raw("/token.php", {"action": "get", "format": "xml"}, {"username": "demo", "password": PASSWORD})
    assert status == 200
    match = re.fullmatch(r'<\?xml version="1.0"\?>\n<result><success>1</success><token>([0-9a-f]{40})</token>'
                         r'<expire>(\d+)</expire></result>\n', payload.decode())
    assert match, payload
    client.control("advance", {"seconds": 50000})
    _status, _headers, payload = client.raw("/token.php", {"action": "validate", "format": "xml", "token": match.group(1)})
    assert payload.decode() == '<?xml version="1.0"?>\n<result><success>0</success><error>Expired token</error><expire>-1</expire></result>\n'
    _status, _headers, payload = client.raw("/token.php", {"action": "get", "format": "xml"}, {"username": "a<b"})
    assert b"<success>0</success><error>Bad argument: password</error>" in payload


# --- faults -----------------------------------------------------------------------------------


def attempt_get(client):
    """Return (status, body) or the exception a client sees."""
    try:
        status, headers, payload = client.raw("/token.php", {"action": "get"}, {"username": "demo", "password": PASSWORD})
        return status, headers, payload
    except (OSError, http.client.HTTPException) as exc:
        return exc


def last_log(client):
    return client.get_control("log")["requests"][-1]


def demo_tokens(client):
    return client.get_control("state")["accounts"]["demo"]["tokens"]


@pytest.mark.parametrize("kind, status", [("http_500", 500), ("http_503", 503), ("http_429", 429)])
def test_http_error_faults(client, kind, status):
    assert client.control("fault", {"kind": kind}) == (200, {"ok": True, "pending": 1})
    got_status, headers, payload = attempt_get(client)
    assert got_status == status
    assert b"<html>" in payload
    if kind == "http_429":
        assert headers["Retry-After"] == "1"
    assert last_log(client)["outcome"] == "fault:" + kind
    assert demo_tokens(client) == 0
    assert attempt_get(client)[0] == 200


@pytest.mark.parametrize("kind, performed", [("reset_before", False), ("reset_after", True)])
def test_reset_faults(client, kind, performed):
    client.control("fault", {"kind": kind})
    result = attempt_get(client)
    assert isinstance(result, (OSError, http.client.HTTPException)), result
    entry = last_log(client)
    assert entry["outcome"] == "fault:" + kind
    assert entry["action_outcome"] == ("ok" if performed else None)
    assert demo_tokens(client) == (1 if performed else 0)


def test_truncated_fault(client):
    client.control("fault", {"kind": "truncated"})
    status, _headers, payload = attempt_get(client)
    assert status == 200 and payload.startswith(b'{"success":true')
    with pytest.raises(ValueError):
        json.loads(payload)
    assert demo_tokens(client) == 1
    assert last_log(client)["action_outcome"] == "ok"


@pytest.mark.parametrize("kind", ["html", "garbage"])
def test_body_faults(client, kind):
    client.control("fault", {"kind": kind})
    status, _headers, payload = attempt_get(client)
    assert status == 200
    with pytest.raises(ValueError):
        json.loads(payload)
    assert not payload.startswith(b"<?xml")
    assert demo_tokens(client) == 0
    assert last_log(client)["outcome"] == "fault:" + kind


def test_delay_fault(client):
    client.control("fault", {"kind": "delay", "seconds": 0.5})
    started = time.monotonic()
    status, _headers, payload = attempt_get(client)
    assert time.monotonic() - started >= 0.5
    assert status == 200 and json.loads(payload)["success"] is True
    assert last_log(client)["outcome"] == "fault:delay"


def post_action(base_url, action, timeout=TIMEOUT, context=None, **args):
    """One token.php POST over http.client; returns the decoded reply or raises what the client saw."""
    url = urllib.parse.urlsplit(base_url)
    if url.scheme == "https":
        conn = http.client.HTTPSConnection(url.hostname, url.port, timeout=timeout, context=context)
    else:
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=timeout)
    return exchange(conn, action, args)


def wait_for_log_entry(client, predicate, timeout=TIMEOUT):
    """The first log entry matching predicate, polling for at most timeout seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        matches = [entry for entry in client.get_control("log")["requests"] if predicate(entry)]
        if matches:
            return matches[0]
        time.sleep(0.05)
    raise AssertionError("no matching log entry within %s s" % timeout)


def test_delay_serves_probes_while_action_pending(client, server):
    """A client that times out on a delayed newpass can probe at once; the change lands later."""
    got = token_for(client)
    client.control("fault", {"kind": "delay", "seconds": 3, "action": "newpass"})
    with pytest.raises(TimeoutError):
        post_action(server.url, "newpass", timeout=1, token=got["token"], password="NewSecret456")
    # The request is logged at once, its action still pending; probes are answered meanwhile.
    entry = wait_for_log_entry(client, lambda e: e["action"] == "newpass")
    assert entry["outcome"] == "fault:delay" and entry["action_outcome"] == "pending"
    assert post_action(server.url, "get", username="demo", password=PASSWORD)["success"] is True
    assert post_action(server.url, "get", username="demo", password="NewSecret456") == {
        "success": False, "error": "Authentication failure"}
    entry = wait_for_log_entry(client, lambda e: e["action"] == "newpass" and e["action_outcome"] != "pending")
    assert entry["action_outcome"] == "ok"
    assert client.action("get", username="demo", password=PASSWORD) == {"success": False, "error": "Authentication failure"}
    assert client.action("get", username="demo", password="NewSecret456")["success"] is True


def test_tls_break_after_on_plain_http_resets(client, server):
    got = token_for(client)
    client.control("fault", {"kind": "tls_break_after", "action": "newpass"})
    with pytest.raises((OSError, http.client.HTTPException)):
        post_action(server.url, "newpass", token=got["token"], password="NewSecret456")
    entry = last_log(client)
    assert entry["outcome"] == "fault:tls_break_after" and entry["action_outcome"] == "ok"
    assert client.action("get", username="demo", password="NewSecret456")["success"] is True


def test_oversized_fault(client):
    client.control("fault", {"kind": "oversized", "action": "get"})
    status, headers, payload = attempt_get(client)
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert 2_300_000 <= len(payload) <= 2_500_000
    assert payload.count(b"<title") == 400000 and b"</title>" not in payload
    assert demo_tokens(client) == 0
    assert last_log(client)["outcome"] == "fault:oversized" and last_log(client)["action_outcome"] is None


def test_trickle_fault_sends_whole_reply_slowly(client, server):
    client.control("fault", {"kind": "trickle", "action": "get", "seconds": 0.002})
    assert client.get_control("fault")["faults"][0]["seconds"] == 0.002
    reply = post_action(server.url, "get", username="demo", password=PASSWORD)
    assert reply["success"] is True
    assert last_log(client)["outcome"] == "fault:trickle" and last_log(client)["action_outcome"] == "ok"
    assert demo_tokens(client) == 1


def test_trickle_defaults_to_one_second_per_byte(client, server):
    client.control("fault", {"kind": "trickle", "action": "get"})
    assert client.get_control("fault")["faults"][0]["seconds"] == 1
    # A per-read timeout longer than the interval never fires: the client is still waiting for
    # the status line after two reads of one byte each.
    conn = http.client.HTTPConnection(server.server_address[0], server.server_address[1], timeout=5)
    try:
        conn.request("POST", "/token.php?action=get", urllib.parse.urlencode({"username": "demo", "password": PASSWORD}),
                     {"Content-Type": "application/x-www-form-urlencoded"})
        conn.sock.settimeout(1.5)
        assert conn.sock.recv(1) == b"H"
        assert conn.sock.recv(1) == b"T"
    finally:
        conn.close()
    assert demo_tokens(client) == 1


@pytest.mark.parametrize("kind, status", [("http_302", 302), ("http_404", 404)])
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_success_looking_error_status(client, server, kind, status, fmt):
    client.control("fault", {"kind": kind, "action": "get"})
    conn = http.client.HTTPConnection(server.server_address[0], server.server_address[1], timeout=TIMEOUT)
    try:  # http.client never follows a redirect
        conn.request("POST", "/token.php?action=get&format=" + fmt, urllib.parse.urlencode({"username": "demo", "password": PASSWORD}),
                     {"Content-Type": "application/x-www-form-urlencoded"})
        response = conn.getresponse()
        got_status, headers, payload = response.status, response.headers, response.read()
    finally:
        conn.close()
    assert got_status == status
    if status == 302:
        assert headers["Location"] == "/moved/token.php"
    if fmt == "json":
        fake = json.loads(payload)
        assert fake["success"] is True and re.fullmatch("[0-9a-f]{40}", fake["token"])
        # The token in a fake answer does not work, and nothing was done.
        assert client.action("validate", token=fake["token"]) == {"success": False, "error": "Invalid token"}
    else:
        assert b"<success>1</success><token>" in payload
    assert demo_tokens(client) == 0
    entry = client.get_control("log")["requests"][0]
    assert entry["outcome"] == "fault:" + kind and entry["action_outcome"] is None


@pytest.mark.parametrize("fmt, body", [("json", {"success": False, "expire": -1}),
                                       ("xml", b"<success>0</success><expire>-1</expire>")])
def test_expired_bare_answers_expire_minus_one_without_error_text(client, server, fmt, body):
    got = token_for(client)
    client.control("fault", {"kind": "expired_bare", "action": "validate"})
    status, _headers, payload = client.raw("/token.php", {"action": "validate", "format": fmt}, {"token": got["token"]})
    assert status == 200
    if fmt == "json":
        assert json.loads(payload) == body
    else:
        assert body in payload and b"<error>" not in payload
    assert client.action("validate", token=got["token"])["success"] is True  # the token is untouched
    outcomes = [entry["outcome"] for entry in client.get_control("log")["requests"]]
    assert outcomes[-2:] == ["fault:expired_bare", "ok"]


def test_success_looking_404_on_newpass_changes_nothing(client, server):
    got = token_for(client)
    client.control("fault", {"kind": "http_404", "action": "newpass"})
    status, _headers, payload = client.raw("/token.php", {"action": "newpass"}, {"token": got["token"], "password": "NewSecret456"})
    assert (status, json.loads(payload)) == (404, {"success": True})
    assert last_log(client)["account"] == "demo"
    assert token_for(client) == got


def test_fault_username_filter_and_log_account(client, server):
    mine = token_for(client)
    theirs = client.action("get", username="other", password="Other1234")
    client.control("fault", {"kind": "http_500", "username": "other"})
    assert client.action("validate", token=mine["token"])["success"] is True
    assert client.raw("/token.php", {"action": "validate"}, {"token": theirs["token"]})[0] == 500
    assert client.action("validate", token=theirs["token"])["success"] is True
    client.action("validate", token="0" * 40)
    client.action("delete", token=theirs["token"])
    client.action("delete", token=theirs["token"])  # a deleted token still names its account
    log = client.get_control("log")["requests"]
    assert [entry["account"] for entry in log] == ["demo", "other", "demo", "other", "other", None, "other", "other"]
    assert [entry["outcome"] for entry in log][3] == "fault:http_500"


def test_secrets_lists_every_password_seen_and_token_issued(client, server):
    got = token_for(client)
    client.action("get", username="demo", password="Wrong-Guess-1")
    client.action("newpass", token=got["token"], password="NewSecret456")
    client.control("password", {"username": "other", "password": "Set-By-Control-1"})
    client.control("fault", {"kind": "http_404", "action": "get"})
    _status, _headers, payload = client.raw("/token.php", {"action": "get"}, {"username": "demo", "password": "NewSecret456"})
    fake = json.loads(payload)["token"]
    client.control("reset")  # forgets the state, not what it saw
    found = client.get_control("secrets")
    assert set(found) == {"passwords", "tokens", "credentials_in_urls"}
    assert {PASSWORD, "Other1234", "Wrong-Guess-1", "NewSecret456", "Set-By-Control-1"} <= set(found["passwords"])
    assert {got["token"], fake} <= set(found["tokens"])


def test_fault_action_filter_and_count(client):
    client.control("fault", {"kind": "http_503", "action": "validate", "count": 2})
    got = token_for(client)
    assert [fault["kind"] for fault in client.get_control("fault")["faults"]] == ["http_503"]
    for _attempt in range(2):
        assert client.raw("/token.php", {"action": "validate", "token": got["token"]})[0] == 503
    assert client.action("validate", token=got["token"])["success"] is True
    assert client.get_control("fault") == {"faults": []}


def test_fault_batch(client):
    batch = {"faults": [{"kind": "http_500", "username": "demo"}, {"kind": "delay", "seconds": 0.1, "action": "get", "count": 2}]}
    assert client.control("fault", batch) == (200, {"ok": True, "pending": 3})
    assert [fault["kind"] for fault in client.get_control("fault")["faults"]] == ["http_500", "delay"]
    # One bad fault and none of the batch is queued.
    assert client.control("fault", {"faults": [{"kind": "http_503"}, {"kind": "meteor"}]})[0] == 400
    assert client.control("fault", {"faults": []})[0] == 400
    assert len(client.get_control("fault")["faults"]) == 2


@pytest.mark.parametrize("params", [
    {"kind": "meteor"},
    {"kind": "delay"},
    {"kind": "http_500", "count": 0},
    {"kind": "http_500", "action": "explode"},
    {"kind": "http_500", "username": ""},
    {"kind": "trickle", "seconds": -1},
])
def test_bad_fault_requests(client, params):
    status, reply = client.control("fault", params)
    assert status == 400 and reply["error"]


# --- log and control API ----------------------------------------------------------------------


def test_log_records_names_never_values(client):
    got = token_for(client)
    client.action("newpass", token=got["token"], password="NewSecret456")
    client.api({"action": "validate", "token": got["token"], "format": "json"})
    client.control("advance", {"seconds": 1})
    log = client.get_control("log")["requests"]
    assert [entry["action"] for entry in log] == ["get", "newpass", "validate"]
    assert log[0]["url_args"] == ["action"] and log[0]["body_args"] == ["username", "password"]
    assert log[2]["url_args"] == ["action", "token", "format"] and log[2]["body_args"] == []
    assert {entry["method"] for entry in log} == {"POST", "GET"}
    assert all(entry["client"] == "127.0.0.1" and entry["outcome"] == "ok" for entry in log)
    dump = json.dumps(client.get_control("log")) + json.dumps(client.get_control("state"))
    for secret in (PASSWORD, "NewSecret456", got["token"]):
        assert secret not in dump


def test_log_hides_unknown_action_values(client):
    client.api({"action": PASSWORD})
    assert last_log(client)["action"] == "<unknown>"
    assert last_log(client)["outcome"] == "Bad argument: action"


def test_clear_log(client):
    token_for(client)
    assert client.control("clear_log") == (200, {"ok": True})
    assert client.get_control("log") == {"requests": []}


def test_reset_restores_start_state(client):
    got = token_for(client)
    client.action("newpass", token=got["token"], password="NewSecret456")
    client.control("advance", {"seconds": 99999})
    client.control("fault", {"kind": "http_500"})
    assert client.control("reset") == (200, {"ok": True})
    state = client.get_control("state")
    assert abs(state["now"] - time.time()) <= 2
    zero = {"tokens": 0, "expired_tokens": 0, "passwords_changed": 0}
    assert state["accounts"] == {"demo": zero, "other": zero}
    assert client.get_control("log") == {"requests": []}
    assert token_for(client)["token"] != got["token"]


def test_password_control(client):
    assert client.control("password", {"username": "demo", "password": "Rotated-Elsewhere1"}) == (200, {"ok": True})
    assert client.action("get", username="demo", password=PASSWORD)["error"] == "Authentication failure"
    assert client.action("get", username="demo", password="Rotated-Elsewhere1")["success"] is True
    assert client.control("password", {"username": "demo"})[0] == 400


def test_control_errors(client):
    assert client.control("nonsense")[0] == 404
    assert client.raw("/_sandbox/reset")[0] == 405
    assert client.raw("/_sandbox/advance", body=b"[1]")[0] == 400
    assert client.control("advance", {"seconds": "soon"})[0] == 400
    assert client.raw("/elsewhere.php")[0] == 404


def test_concurrent_gets_share_one_token(client):
    results = []

    def worker():
        results.append(client.action("get", username="demo", password=PASSWORD)["token"])

    threads = [threading.Thread(target=worker) for _index in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
    assert len(results) == 16 and len(set(results)) == 1


# --- TLS ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory):
    openssl = shutil.which("openssl")
    if not openssl:
        pytest.skip("openssl CLI not available to make a test certificate")
    directory = tmp_path_factory.mktemp("tls")
    cert, key = str(directory / "cert.pem"), str(directory / "key.pem")
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", key, "-out", cert],
                   check=True, capture_output=True, timeout=60)
    return cert, key


def test_https(tls_files):
    cert, key = tls_files
    srv, thread = start_server(["--tls-cert", cert, "--tls-key", key])
    try:
        assert srv.url.startswith("https://127.0.0.1:")
        cli = Client(srv.url, ssl.create_default_context(cafile=cert))
        assert token_for(cli)["success"] is True
        with pytest.raises(urllib.error.URLError):
            Client(srv.url, ssl.create_default_context()).raw("/token.php")
        assert token_for(cli)["success"] is True  # a failed handshake does not hurt the server
    finally:
        stop_server(srv, thread)


def test_tls_break_after(tls_files):
    """newpass is carried out, then the reply's TLS stream fails its integrity check."""
    cert, key = tls_files
    srv, thread = start_server(["--tls-cert", cert, "--tls-key", key])
    try:
        context = ssl.create_default_context(cafile=cert)
        cli = Client(srv.url, context)
        got = token_for(cli)
        cli.control("fault", {"kind": "tls_break_after", "action": "newpass"})
        with pytest.raises(ssl.SSLError) as caught:
            post_action(srv.url, "newpass", context=context, token=got["token"], password="NewSecret456")
        assert not isinstance(caught.value, ssl.SSLCertVerificationError)
        entry = last_log(cli)
        assert entry["action"] == "newpass"
        assert entry["outcome"] == "fault:tls_break_after" and entry["action_outcome"] == "ok"
        assert cli.action("get", username="demo", password=PASSWORD)["error"] == "Authentication failure"
        assert cli.action("get", username="demo", password="NewSecret456")["success"] is True
    finally:
        stop_server(srv, thread)


# --- command line -----------------------------------------------------------------------------


def run_cli(args, **kwargs):
    return subprocess.Popen([sys.executable, SANDBOX_PATH] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


def reap(proc):
    """Stop a sandbox process started by run_cli (if still running) and close its pipes."""
    proc.kill()
    proc.wait(TIMEOUT)
    proc.stdout.close()
    proc.stderr.close()


def wait_for_file(path, timeout=TIMEOUT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.path.exists(path):
            with open(path, encoding="ascii") as handle:
                return int(handle.read())
        time.sleep(0.05)
    raise AssertionError("port file did not appear")


def test_cli_port_file_and_sigterm(tmp_path):
    port_file = str(tmp_path / "port")
    proc = run_cli(["--account", "demo:" + PASSWORD, "--port-file", port_file])
    try:
        port = wait_for_file(port_file)
        assert proc.stdout.readline() == "listening on http://127.0.0.1:%d\n" % port
        assert token_for(Client("http://127.0.0.1:%d" % port))["success"] is True
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(TIMEOUT) == 0
        assert not os.path.exists(port_file)
        assert proc.stderr.read() == ""  # quiet without --verbose
    finally:
        reap(proc)


def test_cli_secrets_file_on_exit(tmp_path):
    port_file, secrets_file = str(tmp_path / "port"), str(tmp_path / "secrets.json")
    proc = run_cli(["--account", "demo:" + PASSWORD, "--port-file", port_file, "--secrets-file", secrets_file])
    try:
        cli = Client("http://127.0.0.1:%d" % wait_for_file(port_file))
        got = token_for(cli)
        assert not os.path.exists(secrets_file)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(TIMEOUT) == 0
        assert os.stat(secrets_file).st_mode & 0o777 == 0o600
        with open(secrets_file, encoding="utf-8") as handle:
            assert json.load(handle) == {"passwords": [PASSWORD], "tokens": [got["token"]], "credentials_in_urls": []}
    finally:
        reap(proc)


def test_cli_shutdown_endpoint_and_verbose(tmp_path):
    port_file = str(tmp_path / "port")
    # A missing secrets directory is created at start, private to the owner.
    secrets_file = str(tmp_path / "secrets" / "nested" / "run.json")
    proc = run_cli(["--account", "demo:" + PASSWORD, "--port-file", port_file, "--secrets-file", secrets_file, "--verbose"])
    try:
        port = wait_for_file(port_file)
        assert os.stat(os.path.dirname(secrets_file)).st_mode & 0o777 == 0o700
        cli = Client("http://127.0.0.1:%d" % port)
        cli.get_control("state")
        assert cli.control("shutdown") == (200, {"ok": True})
        # The reply comes once the exit work is done: nothing listens, the port file is gone and
        # the secrets file is written.
        assert not os.path.exists(port_file)
        with open(secrets_file, encoding="utf-8") as handle:
            assert json.load(handle)["passwords"] == [PASSWORD]
        with pytest.raises(urllib.error.URLError):
            cli.raw("/_sandbox/state")
        assert proc.wait(TIMEOUT) == 0
        assert "/_sandbox/state" in proc.stderr.read()
    finally:
        reap(proc)


def test_cli_secrets_dir_cannot_be_made(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    proc = subprocess.run([sys.executable, SANDBOX_PATH, "--secrets-file", str(blocker / "run.json")],
                          capture_output=True, text=True, timeout=TIMEOUT, check=False)
    assert proc.returncode == 1
    assert proc.stderr.startswith("contactnow_sandbox: cannot start: ")


def test_shutdown_of_an_embedded_server_replies_then_stops():
    """Without main() (nothing waits for exit work) the reply comes first, then serving stops."""
    srv, thread = start_server()
    try:
        assert Client(srv.url).control("shutdown") == (200, {"ok": True})
        thread.join(TIMEOUT)
        assert not thread.is_alive()
    finally:
        stop_server(srv, thread)


def test_cli_max_lifetime():
    proc = run_cli(["--max-lifetime", "0.5"])
    try:
        assert proc.wait(TIMEOUT) == 0
        # It says why it stopped, so that a sandbox gone after an hour does not look like a crash.
        assert "stopping: --max-lifetime of 0.5 s reached" in proc.stdout.read()
    finally:
        reap(proc)


@pytest.mark.parametrize("args, message", [
    (["--host", "0.0.0.0"], "--allow-remote"),
    (["--host", "example.com"], "--allow-remote"),
    (["--account", "nocolon"], "USER:PASSWORD"),
    (["--tls-cert", "x.pem"], "--tls-key"),
])
def test_cli_refuses_bad_arguments(args, message):
    proc = subprocess.run([sys.executable, SANDBOX_PATH] + args, capture_output=True, text=True, timeout=TIMEOUT, check=False)
    assert proc.returncode == 2
    assert message in proc.stderr


def test_accounts_file(tmp_path):
    accounts = tmp_path / "accounts.json"
    accounts.write_text(json.dumps({"filed": "FiledPass1"}))
    args = sandbox.parse_args(["--accounts-file", str(accounts), "--account", "demo:" + PASSWORD])
    assert args.accounts == {"demo": PASSWORD, "filed": "FiledPass1"}

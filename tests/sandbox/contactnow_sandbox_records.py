# -*- coding: utf-8 -*-
# Copyright (c) eightbyeight.contactnow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The sandbox's stand-in for the other ContactNow APIs (database.php, ecnow.php, reporting.php, ...).

Loaded by contactnow_sandbox.py, which hands every request to :func:`serve` first; standard library
only, like the sandbox itself.  A generic records API: one in-memory table per (script, method),
seeded with a few rows and restored by ``POST /_sandbox/reset``.

- ``<base>/<script>.php`` and ``<base>/api/<script>.php``; arguments from the query string and a
  urlencoded POST form (the form wins); for writes the records are the raw body, a JSON array of
  objects (or one object).
- The token rules of token.php: the token must exist ("Unknown token"), be bound to the client's
  address ("Invalid token") and not be expired ("Expired token", with ``expire: -1``).
- ``read``: the other arguments are equality filters; ``fields`` (comma-separated) picks columns.
  ``create`` gives each record a new ``id`` (reply ``key``: the last one); ``update`` and
  ``delete`` go by ``id``.  ``total`` counts the rows read, created, changed or deleted -- an
  update that changes nothing, or a delete of a row that is gone, counts 0, as MySQL's affected
  rows do.  Records that fail validation come back in ``bad`` and are not written.
- ``database.php`` answers XML unless ``format=json`` is given (the vendor: "some default to XML").
- Faults: the sandbox's fault queue, by action name (``read``, ``create``, ``update``; ``delete``
  is shared with token.php), with the same kinds and the same before/after-action semantics.
- ``GET /_sandbox/records`` returns every table, for tests that check what was written.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
from xml.sax.saxutils import escape as xml_escape

SCRIPTS = ("ecnow", "database", "reporting", "ajax", "recording", "click2dial")
ACTIONS = ("read", "create", "update", "delete")
# Action names a fault may be aimed at besides token.php's (whose "delete" these share).
FAULT_ACTIONS = ("read", "create", "update")
XML_DEFAULT_SCRIPTS = ("database",)
# Arguments that are not equality filters on a read.
RESERVED_ARGS = ("token", "method", "action", "format", "raw", "fields", "range", "groupby", "campaign")
REPLY_CONTENT_TYPE = "text/html; charset=UTF-8"
CONTROL_PREFIX = "/_sandbox/"

# The methods the vendor's examples show, per script; those not in WRITABLE are read-only.
METHODS = {
    "ecnow": ("ecnow_datasets", "campaign_tables", "campaign_fields", "ecnow_records", "ecnow_queues",
              "ecnow_agents", "ecnow_outcomecodes"),
    "database": ("outcomecodes", "campaigns", "queues", "agents"),
    "reporting": ("calls", "cdr"),
}
WRITABLE = {
    "ecnow": ("ecnow_datasets", "ecnow_records", "ecnow_queues", "ecnow_agents", "ecnow_outcomecodes"),
    "database": ("outcomecodes", "campaigns", "queues", "agents"),
}
PHONE_FIELDS = ("HomePhone", "WorkPhone", "MobilePhone")

SEED = {
    ("database", "campaigns"): [
        {"id": "1", "name": "Spring renewals", "type": "outbound", "active": "1"},
        {"id": "2", "name": "Inbound support", "type": "inbound", "active": "1"},
        {"id": "3", "name": "Winter survey", "type": "outbound", "active": "0"},
    ],
    ("database", "outcomecodes"): [
        {"id": "1", "outcome": "100", "description": "Sale", "dmc": "1", "sale": "1", "complete": "1",
         "answerphone": "0", "mode": "system", "uid": ""},
        {"id": "2", "outcome": "101", "description": "No answer", "dmc": "0", "sale": "0", "complete": "0",
         "answerphone": "0", "mode": "system", "uid": ""},
        {"id": "3", "outcome": "102", "description": "Answerphone", "dmc": "0", "sale": "0", "complete": "0",
         "answerphone": "1", "mode": "system", "uid": ""},
        {"id": "4", "outcome": "1001", "description": "Call back later", "dmc": "1", "sale": "0", "complete": "0",
         "answerphone": "0", "mode": "user", "uid": "5"},
    ],
    ("database", "queues"): [
        {"id": "1", "qid": "1", "name": "Spring renewals", "type": "outbound", "campaign": "1"},
        {"id": "2", "qid": "2", "name": "Support line", "type": "inbound", "campaign": "2"},
    ],
    ("database", "agents"): [
        {"id": "1", "agent": "1001", "firstname": "Ada", "lastname": "Byron", "active": "1"},
        {"id": "2", "agent": "1002", "firstname": "Alan", "lastname": "Turing", "active": "1"},
    ],
    ("ecnow", "ecnow_datasets"): [
        {"id": "1", "dataset": "1", "qid": "1", "name": "March leads", "state": "LIVE", "table": "leads"},
    ],
    ("ecnow", "campaign_tables"): [{"id": "1", "table": "leads"}],
    ("ecnow", "campaign_fields"): [
        {"id": "1", "table": "leads", "field": "FirstName"},
        {"id": "2", "table": "leads", "field": "HomePhone"},
        {"id": "3", "table": "leads", "field": "MobilePhone"},
    ],
    ("reporting", "calls"): [
        {"id": "1", "qid": "1", "agent": "1001", "outcome": "100", "duration": "184"},
        {"id": "2", "qid": "1", "agent": "1002", "outcome": "101", "duration": "21"},
    ],
}


class Failure(Exception):
    """success false with this error text."""

    def __init__(self, message, **extra):
        super().__init__(message)
        self.reply = {"success": False, "error": message}
        self.reply.update(extra)


class Tables:
    """The tables of one sandbox, guarded by the sandbox state's lock."""

    def __init__(self):
        self.rows = {}
        self.next_id = {}
        self.reset()

    def reset(self):
        self.rows = {key: [dict(row) for row in rows] for key, rows in SEED.items()}
        self.next_id = {key: 1 + max([int(row["id"]) for row in rows] or [0]) for key, rows in self.rows.items()}

    def dump(self):
        return {"%s/%s" % key: [dict(row) for row in rows] for key, rows in sorted(self.rows.items())}


_TABLES_LOCK = threading.Lock()


def tables_of(state):
    with _TABLES_LOCK:
        tables = getattr(state, "records_tables", None)
        if tables is None:
            tables = state.records_tables = Tables()
        return tables


def script_of(path):
    """The script name of an API path (/x.php or /api/x.php), or None when it is not one of ours."""
    name = path[len("/api"):] if path.startswith("/api/") else path
    if not name.startswith("/") or not name.endswith(".php"):
        return None
    name = name[1:-len(".php")]
    return name if name in SCRIPTS else None


def serve(handler, method, url, body):
    """Answer the request when it is ours; returns False to let the token sandbox handle it."""
    if url.path.startswith(CONTROL_PREFIX):
        name = url.path[len(CONTROL_PREFIX):]
        if (method, name) == ("POST", "reset"):
            with handler.server.state.lock:
                tables_of(handler.server.state).reset()
            return False  # the sandbox resets the rest
        if (method, name) == ("GET", "records"):
            with handler.server.state.lock:
                tables = tables_of(handler.server.state).dump()
            handler._send(200, json.dumps({"tables": tables}).encode("utf-8"), "application/json")
            return True
        return False
    script = script_of(url.path)
    if script is None:
        return False
    _api(handler, method, url, body, script)
    return True


def _api(handler, method, url, body, script):
    state = handler.server.state
    url_pairs = urllib.parse.parse_qsl(url.query, keep_blank_values=True)
    body_pairs = []
    raw = body.strip()
    is_form = handler.headers.get("Content-Type", "").lower().startswith("application/x-www-form-urlencoded")
    if method == "POST" and is_form and raw[:1] not in (b"[", b"{"):
        body_pairs = urllib.parse.parse_qsl(body.decode("latin-1"), keep_blank_values=True, encoding="utf-8", errors="replace")
        raw = b""
    args = dict(url_pairs)
    args.update(body_pairs)
    action = args.get("action")
    entry = {
        "action": action if action in ACTIONS else (None if not action else "<unknown>"),
        "script": script,
        "api_method": args.get("method"),
        "method": method,
        "path": url.path,
        "url_args": list(dict.fromkeys(name for name, _value in url_pairs)),
        "body_args": list(dict.fromkeys(name for name, _value in body_pairs)),
        "raw_body": bool(raw),
        "client": handler.client_address[0],
        "time": int(state.now()),
        "outcome": None,
        "action_outcome": None,
    }
    try:
        respond = _answer(handler, script, args, raw, entry)
    finally:
        state.record(entry)  # before the reply, as token.php does
    respond()


def _answer(handler, script, args, raw, entry):
    state = handler.server.state
    fmt = (args.get("format") or ("xml" if script in XML_DEFAULT_SCRIPTS else "json")).lower()
    # Faults as token.php has them: the kinds the sandbox knows after the action, and its own
    # senders for the others (which kinds exist is the sandbox's business, not this file's).
    after_action = type(handler)._dispatch.__globals__.get("FAULTS_AFTER_ACTION", ("reset_after", "truncated", "delay"))
    account = state.account_of(args) if hasattr(state, "account_of") else None
    if account is not None:
        entry["account"] = account
    fault = state.take_fault(args.get("action"), *([account] if account is not None else []))
    if fault is not None:
        entry["outcome"] = "fault:%s" % fault["kind"]
        if fault["kind"] not in after_action:
            return lambda: _send_fault(handler, fault["kind"], args.get("action"), fmt)
        if fault["kind"] == "delay":
            time.sleep(fault["seconds"])
    if fmt not in ("json", "xml"):
        reply, fmt = {"success": False, "error": "Bad argument: format"}, "json"
    else:
        try:
            records = _records_of(raw)
            with state.lock:
                reply = _perform(state, script, args, records, handler.client_address[0])
        except Failure as exc:
            reply = exc.reply
    outcome = "ok" if reply["success"] else reply["error"]
    entry["outcome" if fault is None else "action_outcome"] = outcome
    payload = render(reply, fmt)
    if fault is not None and fault["kind"] == "reset_after":
        return handler._drop_connection
    if fault is not None and fault["kind"] == "truncated":
        return lambda: handler._send(200, payload[:len(payload) // 2], REPLY_CONTENT_TYPE)
    if fault is not None and fault["kind"] == "tls_break_after" and hasattr(handler, "_break_tls"):
        return handler._break_tls
    if fault is not None and fault["kind"] == "trickle" and hasattr(handler, "_trickle"):
        return lambda: handler._trickle(payload, fault["seconds"])
    return lambda: handler._send(200, payload, REPLY_CONTENT_TYPE)


def _send_fault(handler, kind, action, fmt):
    """The sandbox's own answer for a fault that strikes before the action."""
    if handler._send_fault.__func__.__code__.co_argcount > 2:  # (self, kind, action, fmt)
        handler._send_fault(kind, action, fmt)
    else:
        handler._send_fault(kind)


def _records_of(raw):
    if not raw:
        return None
    try:
        records = json.loads(raw.decode("utf-8"))
    except ValueError:
        raise Failure("Bad argument: the body must be a JSON array of records") from None
    if isinstance(records, dict):
        records = [records]
    if not isinstance(records, list) or not all(isinstance(record, dict) for record in records):
        raise Failure("Bad argument: the body must be a JSON array of records")
    return records


def _perform(state, script, args, records, client):
    """One API action under the state lock; returns the reply or raises Failure."""
    token = args.get("token")
    if not token:
        raise Failure("Bad argument: token")
    info = state.tokens.get(token)
    if info is None:
        raise Failure("Unknown token")
    if info["address"] != client:
        raise Failure("Invalid token")
    if info["expire"] <= state.now():
        raise Failure("Expired token", expire=-1)
    method = args.get("method")
    if not method or method not in METHODS.get(script, ()):
        raise Failure("Bad argument: method")
    action = args.get("action") or "read"
    if action not in ACTIONS:
        raise Failure("Bad argument: action")
    key = (script, method)
    tables = tables_of(state)
    if action == "read":
        return _read(script, tables.rows.get(key, []), args)
    if method not in WRITABLE.get(script, ()):
        raise Failure("Bad argument: action (%s is read-only)" % method)
    if not records:
        raise Failure("Bad argument: no records in the body")
    rows = tables.rows.setdefault(key, [])
    if action == "create":
        return _create(tables, key, rows, records)
    if action == "update":
        return _update(rows, records)
    return _delete(rows, records)


def _read(script, rows, args):
    if script == "reporting":
        for name in ("fields", "range"):
            if not args.get(name):
                raise Failure("Bad argument: %s" % name)
        start, sep, stop = args["range"].partition(":")
        if not sep or not start.isdigit() or not stop.isdigit():
            raise Failure("Bad argument: range")
    filters = {name: value for name, value in args.items() if name not in RESERVED_ARGS}
    found = [row for row in rows if all(row.get(name) == value for name, value in filters.items())]
    if args.get("fields"):
        columns = [column.strip() for column in args["fields"].split(",") if column.strip()]
        found = [{column: row.get(column, "") for column in columns} for row in found]
    return {"success": True, "total": len(found), "list": [dict(row) for row in found]}


def _stored(value):
    """Values are kept as text, as a PHP/MySQL API hands them back."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def _create(tables, key, rows, records):
    bad, last = [], None
    for record in records:
        problem = _invalid(key, record)
        if problem:
            bad.append(dict(record, error=problem))
            continue
        row = {name: _stored(value) for name, value in record.items() if name != "id"}
        row["id"] = last = str(tables.next_id.get(key, 1))
        tables.next_id[key] = int(last) + 1
        rows.append(row)
    reply = {"success": True, "total": len(records) - len(bad), "info": "%d created" % (len(records) - len(bad))}
    if last is not None:
        reply["key"] = last
    if bad:
        reply["bad"] = bad
    return reply


def _invalid(key, record):
    if key == ("ecnow", "ecnow_records"):
        if not record.get("dataset"):
            return "missing dataset"
        if not any(record.get(name) for name in PHONE_FIELDS):
            return "missing phone number (one of %s)" % ", ".join(PHONE_FIELDS)
    return None


def _update(rows, records):
    bad, changed = [], 0
    by_id = {row["id"]: row for row in rows}
    for record in records:
        row = by_id.get(_stored(record.get("id")))
        if row is None:
            bad.append(dict(record, error="unknown id"))
            continue
        values = {name: _stored(value) for name, value in record.items() if name != "id"}
        if any(row.get(name) != value for name, value in values.items()):
            row.update(values)
            changed += 1
    reply = {"success": True, "total": changed, "info": "%d updated" % changed}
    if bad:
        reply["bad"] = bad
    return reply


def _delete(rows, records):
    wanted = {_stored(record.get("id")) for record in records}
    kept = [row for row in rows if row["id"] not in wanted]
    deleted = len(rows) - len(kept)
    rows[:] = kept
    return {"success": True, "total": deleted, "info": "%d deleted" % deleted}


def render(reply, fmt):
    """Compact JSON, or XML with lists as repeated <item> elements."""
    if fmt == "xml":
        return ('<?xml version="1.0"?>\n%s\n' % _xml("result", reply)).encode("utf-8")
    return json.dumps(reply, separators=(",", ":")).encode("utf-8")


def _xml(tag, value):
    if isinstance(value, dict):
        return "<%s>%s</%s>" % (tag, "".join(_xml(name, item) for name, item in value.items()), tag)
    if isinstance(value, list):
        return "<%s>%s</%s>" % (tag, "".join(_xml("item", item) for item in value), tag)
    if isinstance(value, bool):
        value = 1 if value else 0
    if value is None or value == "":
        return "<%s/>" % tag
    return "<%s>%s</%s>" % (tag, xml_escape(str(value)), tag)

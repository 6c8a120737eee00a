# -*- coding: utf-8 -*-
# Copyright (c) eightbyeight.contactnow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A local stand-in for the 8x8 ContactNow token API (token.php), with fault injection.

Standalone, Python standard library only, so it runs anywhere the collection is installed:

    python contactnow_sandbox.py --account demo:Secret123 --port-file /tmp/sandbox.port

See docs/docsite/rst/sandbox.rst for the flags, the control API under /_sandbox/ and the
decisions taken where the real API is undocumented.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import ipaddress
import json
import os
import secrets
import signal
import socket
import socketserver
import ssl
import struct
import sys
import threading
import time
import types
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.sax.saxutils import escape as xml_escape

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
try:
    records = importlib.import_module("contactnow_sandbox_records")  # database.php, ecnow.php, ... beside token.php
except ImportError:  # this file copied alone: token.php only
    records = types.SimpleNamespace(serve=lambda *_args: False, FAULT_ACTIONS=())

API_PATHS = ("/token.php", "/api/token.php")
CONTROL_PREFIX = "/_sandbox/"
ACTIONS = ("get", "validate", "delete", "newpass")
# Arguments that are credentials: they belong in a POST body, never in a URL.
CREDENTIAL_ARGS = ("username", "password", "token", "address")
FAULT_KINDS = ("http_500", "http_503", "http_429", "reset_before", "reset_after", "truncated", "html", "garbage", "delay",
               "tls_break_after", "oversized", "trickle", "http_302", "http_404", "expired_bare", "hold")
# Faults after which the action has been carried out on the server side.
FAULTS_AFTER_ACTION = ("reset_after", "truncated", "delay", "tls_break_after", "trickle", "hold")
# Faults whose seconds default to 1 (delay has no default: it must be asked for).
FAULT_DEFAULT_SECONDS = {"trickle": 1, "hold": 300}
# The oversized page: HTTP 200, about 2.4 MB of unclosed "<title" fragments (a quadratic regex's worst case).
OVERSIZED_FRAGMENT = "<title"
OVERSIZED_REPEAT = 400000
# action_outcome of a delayed request while its action has not been carried out yet.
PENDING = "pending"
MAX_BODY = 1024 * 1024
# How long a /_sandbox/shutdown request waits for the exit work (see SandboxServer.stopping), and how
# long main() then waits for that reply to go out before the process exits.
SHUTDOWN_WAIT = 10
# PHP servers commonly label JSON (and XML) as text/html; clients must not rely on the header.
REPLY_CONTENT_TYPE = "text/html; charset=UTF-8"

ERROR_PAGES = {
    500: "<html><head><title>500 Internal Server Error</title></head><body><h1>Internal Server Error</h1>"
         "<p>The server encountered an internal error and was unable to complete your request.</p></body></html>\n",
    503: "<html><head><title>503 Service Unavailable</title></head><body><h1>Service Unavailable</h1>"
         "<p>The server is temporarily unable to service your request.</p></body></html>\n",
    429: "<html><head><title>429 Too Many Requests</title></head><body><h1>Too Many Requests</h1>"
         "<p>You have exceeded your allowable rate limit. Please slow down.</p></body></html>\n",
}
# What a PHP front end shows when its database is down: HTTP 200, but not an API reply.
HTML_ERROR_PAGE = (
    "<!DOCTYPE html>\n<html><head><title>Error</title></head><body><h1>Database error</h1>"
    "<p>Could not connect to the database. Please try again later.</p></body></html>\n"
)


class ApiError(Exception):
    """An API-level failure: HTTP 200 with success false and this error text."""

    def __init__(self, message, **extra):
        super().__init__(message)
        self.message = message
        self.extra = extra

    def reply(self):
        reply = {"success": False, "error": self.message}
        reply.update(self.extra)
        return reply


class ControlError(Exception):
    """A bad request to the control API (HTTP 400/404/405 with a JSON error)."""

    def __init__(self, message, status=400):
        super().__init__(message)
        self.message = message
        self.status = status


class SandboxState:
    """Accounts, tokens, clock, faults and the request log, all guarded by one lock."""

    def __init__(self, accounts, token_lifetime=43200, min_password_length=8, newpass_revokes_tokens=False):
        self.lock = threading.Lock()
        self.initial_accounts = dict(accounts)
        self.token_lifetime = token_lifetime
        self.min_password_length = min_password_length
        # The switch as started; /_sandbox/settings changes the current one, reset restores it.
        self.initial_newpass_revokes_tokens = newpass_revokes_tokens
        self.newpass_revokes_tokens = newpass_revokes_tokens
        self.passwords = {}
        self.tokens = {}
        self.newpass_applied = {}
        self.faults = []
        self.log = []
        self.clock_offset = 0.0
        # Set by /_sandbox/release: held requests go on (a new hold fault clears it).
        self.released = threading.Event()
        # Every password and token this sandbox ever saw or issued, for secret scanners; kept
        # across resets (see secrets()).
        self.seen_passwords = set(self.initial_accounts.values())
        self.issued_tokens = set()
        # token -> username of every token ever issued, deleted or not (for the log's account).
        self.token_owners = {}
        # Requests that carried a credential in the URL query string (never cleared, see secrets()).
        self.credentials_in_urls = []
        self.reset()

    # --- control operations -------------------------------------------------------------

    def reset(self):
        with self.lock:
            self.passwords = dict(self.initial_accounts)
            self.tokens = {}
            self.newpass_applied = {}
            self.faults = []
            self.log = []
            self.clock_offset = 0.0
            self.newpass_revokes_tokens = self.initial_newpass_revokes_tokens

    def set_newpass_revokes_tokens(self, value):
        with self.lock:
            self.newpass_revokes_tokens = value

    def now(self):
        return time.time() + self.clock_offset

    def advance(self, seconds):
        with self.lock:
            self.clock_offset += seconds
            return int(self.now())

    def set_password(self, username, password):
        with self.lock:
            self.passwords[username] = password
            self.seen_passwords.add(password)

    def add_fault(self, kind, count, action, seconds, username=None):
        if kind == "hold":
            self.released.clear()
        with self.lock:
            self.faults.append({"kind": kind, "count": count, "action": action, "seconds": seconds, "username": username})
            return sum(fault["count"] for fault in self.faults)

    def pending_faults(self):
        with self.lock:
            return [dict(fault) for fault in self.faults]

    def take_fault(self, action, account=None):
        """Consume one fault that applies to this action and account (unset filters match all)."""
        with self.lock:
            for fault in self.faults:
                if fault["action"] not in (None, action) or fault["username"] not in (None, account):
                    continue
                fault["count"] -= 1
                if fault["count"] <= 0:
                    self.faults.remove(fault)
                return dict(fault)
        return None

    def account_of(self, args):
        """The account a request is for: its username, else its token's owner; None if unknown."""
        with self.lock:
            if args.get("username"):
                return args["username"]
            return self.token_owners.get(args.get("token") or "")

    def note_secrets(self, args, entry):
        """Remember every password a request carried (right or wrong), and credentials in a URL."""
        in_url = sorted(set(entry["url_args"]) & set(CREDENTIAL_ARGS))
        with self.lock:
            if args.get("password"):
                self.seen_passwords.add(args["password"])
            if in_url:
                self.credentials_in_urls.append({"action": entry["action"], "path": entry["path"], "url_args": in_url,
                                                 "time": entry["time"]})

    def note_token(self, token):
        with self.lock:
            self.issued_tokens.add(token)

    def fake_success(self, action):
        """A success reply for this action that carries out nothing; a get's token never works."""
        if action == "get":
            token = secrets.token_hex(20)
            self.note_token(token)
            return {"success": True, "token": token, "expire": int(self.now() + self.token_lifetime)}
        if action == "validate":
            return {"success": True, "expire": int(self.now() + self.token_lifetime)}
        return {"success": True}

    def secrets(self):
        """Every password seen and token issued since start -- what no client output may contain --
        and every request that carried a credential in its URL (names only)."""
        with self.lock:
            return {"passwords": sorted(self.seen_passwords), "tokens": sorted(self.issued_tokens),
                    "credentials_in_urls": [dict(entry) for entry in self.credentials_in_urls]}

    def record(self, entry):
        with self.lock:
            self.log.append(entry)

    def update_entry(self, entry, **fields):
        """Change a logged entry in place (a delayed action finishing after it was logged)."""
        with self.lock:
            entry.update(fields)

    def clear_log(self):
        with self.lock:
            self.log = []

    def log_copy(self):
        with self.lock:
            return [dict(entry) for entry in self.log]

    def summary(self):
        """Token and password-change counts per account and the server clock; never a password or a token."""
        with self.lock:
            now = self.now()
            accounts = {name: {"tokens": 0, "expired_tokens": 0, "passwords_changed": self.newpass_applied.get(name, 0)}
                        for name in self.passwords}
            for token in self.tokens.values():
                counts = accounts.setdefault(token["username"], {"tokens": 0, "expired_tokens": 0, "passwords_changed": 0})
                counts["tokens" if token["expire"] > now else "expired_tokens"] += 1
            return {"accounts": accounts, "now": int(now)}

    # --- API actions ------------------------------------------------------------------------

    def perform(self, args, client):
        """Carry out one token.php action; returns the reply dict (success or failure)."""
        handlers = {"get": self._get, "validate": self._validate, "delete": self._delete, "newpass": self._newpass}
        try:
            handler = handlers.get(args.get("action"))
            if handler is None:
                raise ApiError("Bad argument: action")
            with self.lock:
                return handler(args, client)
        except ApiError as exc:
            return exc.reply()

    def _get(self, args, client):
        username = require(args, "username")
        password = require(args, "password")
        address = args.get("address") or client
        try:
            address = str(ipaddress.ip_address(address))
        except ValueError:
            raise ApiError("Bad argument: address") from None
        # Same message for an unknown user and a wrong password: never tell which one it was.
        if username not in self.passwords or not secrets.compare_digest(self.passwords[username].encode(), password.encode()):
            raise ApiError("Authentication failure")
        now = self.now()
        for token, info in self.tokens.items():
            if info["username"] == username and info["address"] == address and info["expire"] > now:
                return {"success": True, "token": token, "expire": info["expire"]}
        token = secrets.token_hex(20)
        expire = int(now + self.token_lifetime)
        self.tokens[token] = {"username": username, "address": address, "expire": expire}
        self.issued_tokens.add(token)
        self.token_owners[token] = username
        return {"success": True, "token": token, "expire": expire}

    def _usable_token(self, args, client):
        """The token's record when it may be used by this client; raises the API's errors otherwise."""
        token = require(args, "token")
        info = self.tokens.get(token)
        # A token bound to another address is as good as unknown to this client.
        if info is None or info["address"] != client:
            raise ApiError("Invalid token")
        if info["expire"] <= self.now():
            raise ApiError("Expired token", expire=-1)
        return token, info

    def _validate(self, args, client):
        _token, info = self._usable_token(args, client)
        return {"success": True, "expire": info["expire"]}

    def _delete(self, args, client):
        token, _info = self._usable_token(args, client)
        del self.tokens[token]
        return {"success": True}

    def _newpass(self, args, client):
        require(args, "token")
        password = require(args, "password")
        _token, info = self._usable_token(args, client)
        check_password_rules(password, self.min_password_length)
        # Decision: existing tokens stay valid after newpass (the API does not say), unless the
        # newpass_revokes_tokens switch is on: then every token of the account stops working.
        self.passwords[info["username"]] = password
        if self.newpass_revokes_tokens:
            for token in [token for token, owner in self.tokens.items() if owner["username"] == info["username"]]:
                del self.tokens[token]
        self.newpass_applied[info["username"]] = self.newpass_applied.get(info["username"], 0) + 1
        return {"success": True}


def require(args, name):
    value = args.get(name)
    if not value:
        raise ApiError("Bad argument: %s" % name)
    return value


def check_password_rules(password, min_length):
    if len(password) < min_length:
        raise ApiError("Bad argument: password must be at least %d characters" % min_length)
    if any(not 0x20 <= ord(char) <= 0x7E for char in password):
        raise ApiError("Bad argument: password must contain only printable ASCII characters")


def render(reply, fmt):
    """Serialise a reply the way the API does: compact JSON, or the <result> XML document."""
    if fmt == "xml":
        parts = []
        for key, value in reply.items():
            if isinstance(value, bool):
                value = 1 if value else 0
            parts.append("<%s>%s</%s>" % (key, xml_escape(str(value)), key))
        return ('<?xml version="1.0"?>\n<result>%s</result>\n' % "".join(parts)).encode("utf-8")
    return json.dumps(reply, separators=(",", ":")).encode("utf-8")


def garbage_body():
    # Starts with text that is neither JSON nor XML, so no decoder can accept it by luck.
    return ("Warning: mysqli_connect(): (HY000/2002): %s in /var/www/html/token.php on line %d\n"
            % (secrets.token_urlsafe(24), 10 + secrets.randbelow(90))).encode("utf-8")


_OVERSIZED_PAGE = []


def oversized_page():
    """The oversized fault's body, built once."""
    if not _OVERSIZED_PAGE:
        _OVERSIZED_PAGE.append(("<!DOCTYPE html>\n<html><head>" + OVERSIZED_FRAGMENT * OVERSIZED_REPEAT
                                + "</head><body></body></html>\n").encode("ascii"))
    return _OVERSIZED_PAGE[0]


def names_of(pairs):
    """Argument names in first-seen order, never their values."""
    return list(dict.fromkeys(name for name, _value in pairs))


class SandboxHandler(BaseHTTPRequestHandler):
    """Routes /token.php (and /api/token.php) to the API and /_sandbox/ to the control API."""

    protocol_version = "HTTP/1.1"
    # Look like the PHP-on-Apache server clients will meet, not like Python.
    server_version = "Apache"
    # Idle keep-alive connections must not pin a thread forever.
    timeout = 30
    # Headers and body leave in separate writes; with Nagle's algorithm on, the body of a reply on
    # a reused connection waits for the client's delayed ACK (about 40 ms). A real server does not.
    disable_nagle_algorithm = True

    def version_string(self):
        return self.server_version

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        if self.server.verbose:
            super().log_message(format, *args)

    def do_GET(self):  # pylint: disable=invalid-name
        self._dispatch("GET")

    def do_POST(self):  # pylint: disable=invalid-name
        self._dispatch("POST")

    def _dispatch(self, method):
        url = urllib.parse.urlsplit(self.path)
        body = self._read_body()
        if body is None or records.serve(self, method, url, body):
            return
        if url.path in API_PATHS:
            self._api(method, url, body)
        elif url.path.startswith(CONTROL_PREFIX):
            self._control(method, url.path[len(CONTROL_PREFIX):], body)
        else:
            self._send(404, b"<html><body><h1>404 Not Found</h1></body></html>\n", "text/html")

    def _read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self.close_connection = True
            self._send(411, b"Length Required\n", "text/plain")
            return None
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY:
            self.close_connection = True
            self._send(413, b"Request Entity Too Large\n", "text/plain")
            return None
        return self.rfile.read(length) if length else b""

    def _send(self, status, body, content_type, headers=None):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def _drop_connection(self):
        """Close without a reply; SO_LINGER 0 makes the kernel send a reset, not a clean FIN."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        self.connection.close()

    # --- /token.php -------------------------------------------------------------------------

    def _api(self, method, url, body):
        url_pairs = urllib.parse.parse_qsl(url.query, keep_blank_values=True)
        body_pairs = []
        # Like PHP's $_POST: only a urlencoded body is read as arguments.
        if method == "POST" and self.headers.get("Content-Type", "").lower().startswith("application/x-www-form-urlencoded"):
            body_pairs = urllib.parse.parse_qsl(body.decode("latin-1"), keep_blank_values=True, encoding="utf-8", errors="replace")
        args = dict(url_pairs)
        args.update(body_pairs)  # the body wins, as with PHP's $_REQUEST in its default order
        action = args.get("action")
        entry = {
            "action": action if action in ACTIONS else (None if not action else "<unknown>"),
            "method": method,
            "path": url.path,
            "url_args": names_of(url_pairs),
            "body_args": names_of(body_pairs),
            "account": self.server.state.account_of(args),
            "client": self.client_address[0],
            "time": int(self.server.state.now()),
            "outcome": None,
            "action_outcome": None,
        }
        recorded = []

        def record_once():
            if not recorded:
                recorded.append(True)
                self.server.state.record(entry)

        try:
            respond = self._answer_api(args, entry, record_once)
        finally:
            # Logged before the reply goes out, so a client that reads the log next always sees it.
            record_once()
        respond()

    def _answer_api(self, args, entry, record_once):
        """Carry out the request (unless a fault says not to); return what sends the reply."""
        state = self.server.state
        state.note_secrets(args, entry)
        fmt = (args.get("format") or "json").lower()
        fault = state.take_fault(args.get("action"), entry["account"])
        if fault is not None:
            entry["outcome"] = "fault:%s" % fault["kind"]
            if fault["kind"] not in FAULTS_AFTER_ACTION:
                return lambda: self._send_fault(fault["kind"], args.get("action"), fmt)
            if fault["kind"] in ("delay", "hold"):
                # Logged at once, so a test can see the request while its action is still pending.
                # Other requests are served meanwhile: each connection has its own thread, and the
                # state lock is not held while waiting.
                entry["action_outcome"] = PENDING
                record_once()
                if fault["kind"] == "delay":
                    time.sleep(fault["seconds"])
                else:
                    state.released.wait(fault["seconds"])
        if fmt not in ("json", "xml"):
            reply, fmt = {"success": False, "error": "Bad argument: format"}, "json"
        else:
            reply = state.perform(args, self.client_address[0])
        outcome = "ok" if reply["success"] else reply["error"]
        if fault is None:
            entry["outcome"] = outcome
        else:
            state.update_entry(entry, action_outcome=outcome)
        body = render(reply, fmt)
        if fault is not None and fault["kind"] == "reset_after":
            return self._drop_connection
        if fault is not None and fault["kind"] == "tls_break_after":
            return self._break_tls
        if fault is not None and fault["kind"] == "truncated":
            return lambda: self._send(200, body[:len(body) // 2], REPLY_CONTENT_TYPE)
        if fault is not None and fault["kind"] == "trickle":
            return lambda: self._trickle(body, fault["seconds"])
        return lambda: self._send(200, body, REPLY_CONTENT_TYPE)

    def _trickle(self, body, interval):
        """The whole reply -- status line, headers, body -- one byte every ``interval`` seconds.

        Each byte comes well within any per-read timeout, so only a client with an overall
        deadline gives up in time. Stops as soon as a write fails (the client hung up).
        """
        self.close_connection = True
        head = ("%s 200 OK\r\nServer: %s\r\nDate: %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n"
                "Connection: close\r\n\r\n"
                % (self.protocol_version, self.version_string(), self.date_time_string(), REPLY_CONTENT_TYPE, len(body)))
        for index, byte in enumerate(head.encode("latin-1") + body):
            if index:
                time.sleep(interval)
            try:
                self.wfile.write(bytes((byte,)))
            except OSError:
                return

    def _break_tls(self):
        """Instead of the reply, a TLS record that fails its integrity check, then close.

        The record is written to the socket's file descriptor, under the TLS layer: an
        application-data header (0x17, TLS 1.2 version, length) and random bytes, which no
        cipher accepts, so the client fails with an SSL error while reading the reply. On plain
        HTTP there is no TLS stream to break: the connection is reset, as with reset_after.
        """
        if not isinstance(self.connection, ssl.SSLSocket):
            self._drop_connection()
            return
        self.close_connection = True
        junk = secrets.token_bytes(64)
        record = b"\x17\x03\x03" + struct.pack("!H", len(junk)) + junk
        try:
            written = 0
            while written < len(record):
                written += os.write(self.connection.fileno(), record[written:])
            # A plain FIN (no close_notify, no reset), so the client reads the broken record first.
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.connection.close()

    def _send_fault(self, kind, action, fmt):
        """Faults that answer (or hang up) without carrying out the action."""
        reply_fmt = fmt if fmt in ("json", "xml") else "json"
        if kind in ("http_302", "http_404"):
            # Not an API reply, whatever the body says: the body is a plausible success (with a
            # token that does not work) so that only a client that checks the status rejects it.
            status = int(kind[-3:])
            headers = {"Location": "/moved/token.php"} if status == 302 else {}
            body = render(self.server.state.fake_success(action), reply_fmt)
            self._send(status, body, REPLY_CONTENT_TYPE, headers)
        elif kind == "oversized":
            self._send(200, oversized_page(), "text/html; charset=UTF-8")
        elif kind == "reset_before":
            self._drop_connection()
        elif kind == "http_429":
            self._send(429, ERROR_PAGES[429].encode(), "text/html", {"Retry-After": "1"})
        elif kind in ("http_500", "http_503"):
            status = int(kind[-3:])
            self._send(status, ERROR_PAGES[status].encode(), "text/html")
        elif kind == "html":
            self._send(200, HTML_ERROR_PAGE.encode(), "text/html; charset=UTF-8")
        elif kind == "expired_bare":
            # The vendor's notes: the other APIs may report an expired token by "expire": -1 alone.
            self._send(200, render({"success": False, "expire": -1}, reply_fmt), REPLY_CONTENT_TYPE)
        else:  # garbage
            self._send(200, garbage_body(), REPLY_CONTENT_TYPE)

    # --- /_sandbox/ control API ---------------------------------------------------------------

    def _control(self, method, name, body):
        routes = {
            ("GET", "log"): self._ctl_log,
            ("GET", "state"): self._ctl_state,
            ("GET", "fault"): self._ctl_faults,
            ("GET", "secrets"): self._ctl_secrets,
            ("POST", "reset"): self._ctl_reset,
            ("POST", "clear_log"): self._ctl_clear_log,
            ("POST", "advance"): self._ctl_advance,
            ("POST", "fault"): self._ctl_fault,
            ("POST", "password"): self._ctl_password,
            ("POST", "settings"): self._ctl_settings,
            ("POST", "release"): self._ctl_release,
            ("POST", "shutdown"): self._ctl_shutdown,
        }
        try:
            route = routes.get((method, name))
            if route is None:
                known = any(key[1] == name for key in routes)
                raise ControlError("method not allowed" if known else "unknown control endpoint", 405 if known else 404)
            reply = route(parse_json_object(body))
            status = 200
        except ControlError as exc:
            reply, status = {"error": exc.message}, exc.status
        if (method, name) == ("POST", "shutdown") and status == 200:
            # Under main(), the reply goes out once the sandbox has stopped serving and done its
            # exit work, just before the process exits (see SandboxServer.stopping).
            with self.server.stopping():
                self._send(status, json.dumps(reply).encode("utf-8"), "application/json")
            return
        self._send(status, json.dumps(reply).encode("utf-8"), "application/json")

    def _ctl_log(self, _params):
        return {"requests": self.server.state.log_copy()}

    def _ctl_state(self, _params):
        return self.server.state.summary()

    def _ctl_faults(self, _params):
        return {"faults": self.server.state.pending_faults()}

    def _ctl_secrets(self, _params):
        return self.server.state.secrets()

    def _ctl_reset(self, _params):
        self.server.state.reset()
        return {"ok": True}

    def _ctl_clear_log(self, _params):
        self.server.state.clear_log()
        return {"ok": True}

    def _ctl_advance(self, params):
        seconds = params.get("seconds")
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
            raise ControlError("'seconds' must be a number")
        return {"ok": True, "now": self.server.state.advance(seconds)}

    def _ctl_fault(self, params):
        batch = params.get("faults")
        if batch is None:
            batch = [params]
        elif not isinstance(batch, list) or not batch or not all(isinstance(item, dict) for item in batch):
            raise ControlError("'faults' must be a non-empty list of fault objects")
        # All are checked before any is queued: a bad batch changes nothing.
        faults = [self._fault_spec(item) for item in batch]
        pending = 0
        for spec in faults:
            pending = self.server.state.add_fault(*spec)
        return {"ok": True, "pending": pending}

    @staticmethod
    def _fault_spec(params):
        kind = params.get("kind")
        if kind not in FAULT_KINDS:
            raise ControlError("'kind' must be one of: %s" % ", ".join(FAULT_KINDS))
        count = params.get("count", 1)
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ControlError("'count' must be a positive integer")
        action = params.get("action")
        if action is not None and action not in ACTIONS + records.FAULT_ACTIONS:
            raise ControlError("'action' must be one of: %s" % ", ".join(ACTIONS + records.FAULT_ACTIONS))
        seconds = params.get("seconds", FAULT_DEFAULT_SECONDS.get(kind, 0) if kind != "delay" else None)
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
            raise ControlError("'seconds' must be a non-negative number (required for delay)")
        username = params.get("username")
        if username is not None and (not isinstance(username, str) or not username):
            raise ControlError("'username' must be a non-empty string")
        return kind, count, action, seconds, username

    def _ctl_password(self, params):
        username, password = params.get("username"), params.get("password")
        if not isinstance(username, str) or not username or not isinstance(password, str):
            raise ControlError("'username' and 'password' must be strings")
        self.server.state.set_password(username, password)
        return {"ok": True}

    def _ctl_release(self, _params):
        self.server.state.released.set()
        return {"ok": True}

    def _ctl_settings(self, params):
        revokes = params.get("newpass_revokes_tokens")
        if not isinstance(revokes, bool) or set(params) != {"newpass_revokes_tokens"}:
            raise ControlError("expected {\"newpass_revokes_tokens\": true or false}")
        self.server.state.set_newpass_revokes_tokens(revokes)
        return {"ok": True, "newpass_revokes_tokens": revokes}

    def _ctl_shutdown(self, _params):
        self.close_connection = True
        return {"ok": True}


def parse_json_object(body):
    if not body.strip():
        return {}
    try:
        params = json.loads(body.decode("utf-8"))
    except ValueError:
        raise ControlError("body must be a JSON object") from None
    if not isinstance(params, dict):
        raise ControlError("body must be a JSON object")
    return params


class SandboxServer(ThreadingHTTPServer):
    """Threaded HTTP(S) server holding the sandbox state."""

    daemon_threads = True
    # socketserver's default backlog of 5 resets connections when many clients arrive at once
    # (forked lookups, concurrency tests on a loaded machine).
    request_queue_size = 128

    def __init__(self, address, state, tls_context=None, verbose=False):
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.state = state
        self.verbose = verbose
        self.tls = tls_context is not None
        # main() sets this to an Event and sets the Event once it has done its exit work (listening
        # socket closed, port file removed, secrets file written); None: nothing to wait for.
        self.exit_work_done = None
        # Shutdown replies not sent yet; main() lets them go out before the process exits.
        self._replies_pending = 0
        self._replies_changed = threading.Condition()
        super().__init__(address, SandboxHandler)
        if tls_context is not None:
            # Handshake in the request thread (finish_request), so one slow client can't block accept().
            self.socket = tls_context.wrap_socket(self.socket, server_side=True, do_handshake_on_connect=False)

    def server_bind(self):
        # HTTPServer.server_bind calls socket.getfqdn(), which can hang on hosts without DNS.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def finish_request(self, request, client_address):
        if isinstance(request, ssl.SSLSocket):
            request.settimeout(SandboxHandler.timeout)
            request.do_handshake()
        super().finish_request(request, client_address)

    def handle_error(self, request, client_address):
        # Clients that hang up or fail the TLS handshake are normal in fault tests.
        if self.verbose:
            super().handle_error(request, client_address)

    @property
    def url(self):
        host = self.server_address[0]
        if ":" in host:
            host = "[%s]" % host
        return "%s://%s:%d" % ("https" if self.tls else "http", host, self.server_address[1])

    def request_shutdown(self):
        """Stop serve_forever() from any thread, including a signal handler or a request."""
        threading.Thread(target=self.shutdown, daemon=True).start()

    @contextlib.contextmanager
    def stopping(self):
        """Stop the server around the reply to a shutdown request (the body of the with statement).

        Under main() (exit_work_done set), stop serving and wait for main()'s exit work first, so
        that a client holding the reply knows that the port is closed, the port file is gone and the
        secrets file is written; main() waits for the reply before the process exits. Otherwise
        (an embedded server) reply first, then stop serving.
        """
        with self._replies_changed:
            self._replies_pending += 1
        try:
            if self.exit_work_done is not None:
                self.request_shutdown()
                self.exit_work_done.wait(SHUTDOWN_WAIT)
            yield
        finally:
            with self._replies_changed:
                self._replies_pending -= 1
                self._replies_changed.notify_all()
            if self.exit_work_done is None:
                self.request_shutdown()

    def wait_for_shutdown_replies(self, timeout):
        """Wait (at most timeout seconds) until every shutdown request being answered has its reply."""
        with self._replies_changed:
            self._replies_changed.wait_for(lambda: not self._replies_pending, timeout)


# --- command line ---------------------------------------------------------------------------


def account_arg(value):
    username, sep, password = value.partition(":")
    if not sep or not username:
        raise argparse.ArgumentTypeError("expected USER:PASSWORD")
    return username, password


def build_parser():
    parser = argparse.ArgumentParser(
        description="Local stand-in for the 8x8 ContactNow token API (token.php).",
        epilog="It stops on SIGTERM, SIGINT, --max-lifetime or POST /_sandbox/shutdown. The reply to the shutdown request"
               " comes once the sandbox has stopped listening, removed --port-file and written --secrets-file, just before"
               " the process exits. See docs/docsite/rst/sandbox.rst.")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1; loopback only without --allow-remote)")
    parser.add_argument("--port", type=int, default=0, help="port to listen on (default 0: pick a free port)")
    parser.add_argument("--port-file", help="write the port number to this file (atomically) once listening")
    parser.add_argument("--account", action="append", type=account_arg, default=[], metavar="USER:PASSWORD",
                        help="an API account; repeat for more")
    parser.add_argument("--accounts-file", help='JSON file {"user": "password", ...} with more accounts')
    parser.add_argument("--token-lifetime", type=int, default=43200, help="token lifetime in seconds (default 43200)")
    parser.add_argument("--min-password-length", type=int, default=8, help="shortest password newpass accepts (default 8)")
    parser.add_argument("--newpass-revokes-tokens", action="store_true",
                        help="newpass makes every token of the account invalid (default: tokens stay valid)")
    parser.add_argument("--tls-cert", help="PEM certificate (chain) to serve HTTPS")
    parser.add_argument("--tls-key", help="PEM private key for --tls-cert")
    parser.add_argument("--max-lifetime", type=float, default=3600,
                        help="exit by itself after this many seconds (default 3600; 0 = never)")
    parser.add_argument("--allow-remote", action="store_true", help="allow a --host that is not a loopback address")
    parser.add_argument("--secrets-file",
                        help="on exit, write every password seen and token issued to this file (JSON, mode 0600), for secret scanners;"
                             " a missing directory is created (mode 0700) at start")
    parser.add_argument("--verbose", action="store_true", help="log each HTTP request to stderr")
    return parser


def is_loopback(host):
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_args(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if not is_loopback(args.host) and not args.allow_remote:
        parser.error("refusing to listen on non-loopback host %r without --allow-remote "
                     "(the sandbox has no security: anyone who can reach it can read its state)" % args.host)
    if bool(args.tls_cert) != bool(args.tls_key):
        parser.error("--tls-cert and --tls-key go together")
    if args.token_lifetime <= 0:
        parser.error("--token-lifetime must be positive")
    if args.min_password_length < 0 or args.max_lifetime < 0:
        parser.error("--min-password-length and --max-lifetime must not be negative")
    args.accounts = dict(args.account)
    if args.accounts_file:
        try:
            with open(args.accounts_file, encoding="utf-8") as handle:
                extra = json.load(handle)
        except (OSError, ValueError) as exc:
            parser.error("cannot read --accounts-file: %s" % exc)
        if not isinstance(extra, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in extra.items()):
            parser.error('--accounts-file must hold a JSON object {"user": "password", ...}')
        args.accounts.update(extra)
    return args


def build_server(args):
    """Create (but do not start) the server described by parsed arguments."""
    state = SandboxState(args.accounts, args.token_lifetime, args.min_password_length, args.newpass_revokes_tokens)
    tls_context = None
    if args.tls_cert:
        tls_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls_context.load_cert_chain(args.tls_cert, args.tls_key)
    host = "127.0.0.1" if args.host == "localhost" else args.host
    return SandboxServer((host, args.port), state, tls_context, args.verbose)


def write_port_file(path, port):
    # Write then rename, so a poller never reads an empty or half-written file.
    tmp = "%s.%d.tmp" % (path, os.getpid())
    with open(tmp, "w", encoding="ascii") as handle:
        handle.write("%d\n" % port)
    os.replace(tmp, path)


def remove_port_file(path, port):
    """Remove the port file on exit, unless another sandbox has replaced it meanwhile."""
    try:
        with open(path, encoding="ascii") as handle:
            if handle.read().strip() == str(port):
                os.remove(path)
    except OSError:
        pass


def write_secrets_file(path, state):
    """Write the secrets JSON atomically, readable by the owner only from the first byte."""
    tmp = "%s.%d.tmp" % (path, os.getpid())
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(state.secrets(), handle)
    os.replace(tmp, path)


def make_secrets_dir(path):
    """Create the directory of the secrets file (mode 0700) if it is missing."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, mode=0o700, exist_ok=True)


def main(argv=None):
    args = parse_args(argv)
    try:
        if args.secrets_file:
            # At start, so that a directory that cannot be made fails now and not after the tests.
            make_secrets_dir(args.secrets_file)
        server = build_server(args)
    except (OSError, ssl.SSLError) as exc:
        sys.stderr.write("contactnow_sandbox: cannot start: %s\n" % exc)
        return 1
    server.exit_work_done = threading.Event()
    port = server.server_address[1]
    print("listening on %s" % server.url, flush=True)
    if args.port_file:
        write_port_file(args.port_file, port)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda _signum, _frame: server.request_shutdown())
    if args.max_lifetime:
        # A test that forgets to stop the sandbox must not leak it; say so, or it looks like a crash.
        def expire():
            print("stopping: --max-lifetime of %g s reached (--max-lifetime 0 runs until stopped)"
                  % args.max_lifetime, flush=True)
            server.request_shutdown()

        timer = threading.Timer(args.max_lifetime, expire)
        timer.daemon = True
        timer.start()
    status = 0
    try:
        # A short poll interval: a shutdown request waits for serving to stop (see below).
        server.serve_forever(poll_interval=0.05)
    finally:
        server.server_close()
        if args.port_file:
            remove_port_file(args.port_file, port)
    if args.secrets_file:
        try:
            write_secrets_file(args.secrets_file, server.state)
        except OSError as exc:
            sys.stderr.write("contactnow_sandbox: cannot write --secrets-file: %s\n" % exc)
            status = 1
    # The exit work is done: a /_sandbox/shutdown request waiting for it replies now, and the
    # process exits once that reply is out.
    server.exit_work_done.set()
    server.wait_for_shutdown_replies(SHUTDOWN_WAIT)
    return status


if __name__ == "__main__":
    sys.exit(main())

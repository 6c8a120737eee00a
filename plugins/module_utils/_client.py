# -*- coding: utf-8 -*-
# Copyright (c) eightbyeight.contactnow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The one HTTP client of the collection: every plugin talks to token.php through it.

This is a private module of the collection: its interface may change without notice.

- Arguments travel in the POST body only; the URL is always the bare ``<api_url>/token.php``.
- Answers are decoded from the body alone (see ``_decode``); errors become typed exceptions whose
  message is one line naming the action and the host, with every secret sent scrubbed out.
- ``get``, ``validate`` and ``delete`` are retried on transient faults with exponential backoff
  and jitter.  ``newpass`` is retried only when the request provably never reached the server: the
  body is sent as a file-like object that records being read, and the transport (``_http``, on
  ``http.client``) reads it only after the connection, the TLS handshake and the headers succeeded
  (see ``_Body``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import json
import os
import random
import re
import socket
import ssl
import threading
import time

from urllib.parse import quote, quote_plus, urlencode

from ansible_collections.eightbyeight.contactnow.plugins.module_utils._decode import UndecodableReply, decode_reply
from ansible_collections.eightbyeight.contactnow.plugins.module_utils._errors import (  # noqa: F401 (re-exported)
    ContactNowError,
    AuthenticationError,
    InvalidTokenError,
    ExpiredTokenError,
    ApiError,
    TransportError,
    ReplyError,
)

COLLECTION_VERSION = '0.1.0'
USER_AGENT = 'eightbyeight.contactnow/%s' % COLLECTION_VERSION

Token = collections.namedtuple('Token', ['token', 'expire'])

_MAX_SERVER_TEXT = 200

# A token.php reply is about 100 bytes; anything past this is not one (a proxy's page, a wrong URL).
MAX_REPLY_BYTES = 64 * 1024
# The largest answer call_api reads from the other APIs; narrow bigger reads with filters, fields or range.
MAX_API_REPLY_BYTES = 32 * 1024 * 1024
_READ_CHUNK = 8192


class RetryPolicy:
    """Exponential backoff with jitter; the sleep function is injectable for tests."""

    def __init__(self, retries=3, base_delay=1.0, max_delay=30.0, sleep=time.sleep, jitter=random.random):
        self.retries = max(0, int(retries))
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.sleep = sleep
        self.jitter = jitter

    def delay(self, retry_number, retry_after=None):
        """Seconds to wait before retry ``retry_number`` (1-based); honours a server's Retry-After."""
        ceiling = min(self.max_delay, self.base_delay * (2 ** (retry_number - 1)))
        wait = ceiling / 2 + self.jitter() * ceiling / 2
        if retry_after is not None:
            wait = max(wait, min(float(retry_after), self.max_delay))
        return wait


class _Transient(Exception):
    """Internal: a failure worth another try, carrying the error to raise when tries run out."""

    def __init__(self, error, retry_after=None):
        super(_Transient, self).__init__(str(error))
        self.error = error
        self.retry_after = retry_after


class _Body:
    """A request body that records whether anything read it.

    The transport sets Content-Length from ``__len__`` and ``http.client`` calls ``read()`` only
    once the connection is up and the headers are written: an unread body is proof that the
    server never received the request's arguments.
    """

    def __init__(self, data, content_type):
        self._data = data
        self._offset = 0
        self.content_type = content_type
        self.was_read = False

    @classmethod
    def of(cls, body):
        """A fresh body (one per attempt) from a form dict, bytes, or a (bytes, content type) pair."""
        if isinstance(body, dict):
            return cls(urlencode(body).encode('utf-8'), 'application/x-www-form-urlencoded')
        if isinstance(body, tuple):
            data, content_type = body
            return cls(data, content_type)
        return cls(body, 'application/json')

    def __len__(self):
        return len(self._data)

    def read(self, size=-1):
        self.was_read = True
        if size is None or size < 0:
            size = len(self._data) - self._offset
        chunk = self._data[self._offset:self._offset + size]
        self._offset += len(chunk)
        return chunk


def _scrub(text, secrets):
    """Mask each secret, also as a server echoing its request would write it.

    Covers the URL-encoded forms (either case of hex digits), HTML-escaped echoes (entities are
    resolved first) and any letter case.
    """
    import html  # only messages are scrubbed: a successful exchange never imports it

    text = str(text)
    if '&' in text:
        text = html.unescape(text)
    for secret in secrets:
        if secret:
            secret = str(secret)
            forms = set((secret, quote(secret, safe=''), quote_plus(secret), html.escape(secret), html.escape(secret, quote=False)))
            for form in sorted(forms, key=len, reverse=True):
                text = re.sub(re.escape(form), '********', text, flags=re.IGNORECASE)
    return text


class ContactNowClient:
    """token.php actions over one HTTP session."""

    def __init__(self, options, session=None, retry_policy=None):
        self.options = options
        self._session = session
        self.retry_policy = retry_policy or RetryPolicy(options.retries)
        self.max_reply_bytes = MAX_REPLY_BYTES  # callers of other, larger APIs may raise it
        self._tls = None

    # -- the four actions ------------------------------------------------------------------------

    def get_token(self, username, password, address=None):
        """Action ``get``: the account's current token for the address, or a new one."""
        fields = {'username': username, 'password': password}
        if address:
            fields['address'] = address
        reply = self._call('get', fields, secrets=(password,))
        if not reply.get('token') or 'expire' not in reply:
            raise ReplyError('the answer reports success but carries no token and expire', action='get', host=self.options.host)
        return Token(reply['token'], reply['expire'])

    def validate(self, token):
        """Action ``validate``: the token's expire time; raises InvalidTokenError when unusable."""
        reply = self._call('validate', {'token': token}, secrets=(token,))
        if 'expire' not in reply:
            raise ReplyError('the answer reports success but carries no expire', action='validate', host=self.options.host)
        return reply['expire']

    def delete(self, token):
        """Action ``delete``.  An "Invalid token" after a lost answer means the first try worked."""
        try:
            self._call('delete', {'token': token}, secrets=(token,))
        except InvalidTokenError as exc:
            if exc.attempts > 1:
                return
            raise

    def change_password(self, token, new_password):
        """Action ``newpass``.  Never retried once the request may have reached the server."""
        self._call('newpass', {'token': token, 'password': new_password}, secrets=(token, new_password), idempotent=False)

    # -- plumbing --------------------------------------------------------------------------------

    def _call(self, action, fields, secrets=(), idempotent=True, url=None, query=None, raw_body=None):
        """Send ``action`` with its retries and return the decoded reply (``success`` true).

        ``url`` defaults to ``<api_url>/token.php``; ``query`` is a dict for the query string (never
        a secret: URLs end up in logs); ``raw_body`` is bytes sent instead of the urlencoded form,
        or a ``(bytes, content_type)`` pair (the default content type is application/json).
        """
        if raw_body is None:
            body = dict(fields)
            body['action'] = action
            body['format'] = self.options.response_format
        else:
            body = raw_body
        secrets = tuple(secrets) + (self.options.password,)
        attempt = 0
        while True:
            attempt += 1
            try:
                reply = self._attempt(action, body, secrets, idempotent, url=url, query=query)
            except _Transient as transient:
                error = transient.error
                error.attempts = attempt
                if attempt > self.retry_policy.retries:
                    raise error
                self.retry_policy.sleep(self.retry_policy.delay(attempt, transient.retry_after))
                continue
            except ContactNowError as error:
                error.attempts = attempt
                raise
            if not reply['success']:
                raise self._api_error(action, reply, secrets, attempt)
            return reply

    def _attempt(self, action, body, secrets, idempotent, url=None, query=None, raw_body=None):
        """One HTTP exchange.  ``body`` is the form (a dict); ``raw_body`` replaces it (see _call).

        Whether the server can have received the arguments is decided by a fact, not by guessing
        from exception types: the body is a file-like object that records being read, and the
        transport reads it only after the TCP connection, the TLS handshake and the request headers have all
        succeeded.  A failure while the body is unread proves the request never arrived.

        ``timeout`` bounds the whole attempt: a watchdog shuts the connection down when it runs out,
        whether the server is silent or trickles bytes, and the answer is read in chunks, at most
        :data:`MAX_REPLY_BYTES` of it.
        """
        if raw_body is not None:
            body = raw_body
        session = self.session()
        payload = _Body.of(body)
        headers = {'Content-Type': payload.content_type, 'Accept-Encoding': 'identity', 'Connection': 'close'}
        with _Deadline(self.options.timeout) as deadline:
            try:
                response = session.post(
                    url or self.options.token_url, data=payload, params=query or None, headers=headers,
                    timeout=self.options.timeout, verify=self._verify(url or self.options.token_url),
                    allow_redirects=False, stream=True)
                try:
                    content = self._read_answer(action, response, deadline)
                finally:
                    response.close()
            except (ContactNowError, _Transient):
                raise
            except Exception as exc:  # every failure becomes ours; which one depends on payload.was_read
                raise self._failure(action, exc, payload.was_read, secrets, idempotent, deadline)
        return self._reply(action, response.status_code, response.headers, content, secrets, idempotent)

    def _read_answer(self, action, response, deadline):
        """The body, read in chunks, bounded in size and by the attempt's deadline."""
        raw = getattr(response, 'raw', None)
        if raw is None:  # a Response built in memory (tests, adapters that preload)
            return _bounded(response.content, self.max_reply_bytes, action, self.options.host)
        read = getattr(raw, 'read1', None) or raw.read
        chunks = []
        size = 0
        while True:
            if deadline.passed:
                raise socket.timeout('deadline')
            chunk = read(_READ_CHUNK)
            if deadline.passed:
                raise socket.timeout('deadline')  # the watchdog cut the stream: not a genuine end
            if not chunk:
                return b''.join(chunks)
            size += len(chunk)
            if size > self.max_reply_bytes:
                raise ReplyError('the answer is too large (more than %d KiB; a token.php reply is about 100 bytes); '
                                 'check that api_url points at the ContactNow API' % (self.max_reply_bytes // 1024),
                                 action=action, host=self.options.host)
            chunks.append(chunk)

    def _failure(self, action, exc, was_read, secrets, idempotent, deadline):
        """The error (or _Transient) for an exception raised while sending or receiving."""
        import http.client  # the transport imported it already; _client itself stays light to import

        secrets = tuple(secrets) + tuple(getattr(self._session, 'secrets', None) or ())  # a proxy's password
        cause = _one_line(_scrub(_root_cause(exc), secrets))
        timeout = self.options.timeout
        timed_out = deadline.passed or isinstance(exc, (socket.timeout, TimeoutError))
        if not was_read:
            # Provably never received: safe to retry any action, newpass included.
            if timed_out:
                return self._transport(action, 'could not connect within %d seconds (timeout)' % timeout, idempotent,
                                       maybe_acted=False)
            if _is_tls_error(exc):
                if _is_certificate_error(exc):
                    message = ('TLS verification failed (%s). If the server uses a private CA, point ca_path at its bundle'
                               % cause)
                else:
                    message = ('the TLS handshake failed (%s); check that api_url (%s) is the HTTPS address of the API'
                               % (cause, _scrub(self.options.api_url, secrets)))
                return TransportError(message, maybe_acted=False, action=action, host=self.options.host)
            if isinstance(exc, (http.client.InvalidURL, ValueError)):
                return TransportError('the request could not be sent (%s); check api_url' % cause,
                                      maybe_acted=False, action=action, host=self.options.host)
            if isinstance(exc, (OSError, http.client.HTTPException)):  # refused, DNS, unreachable, a proxy's refusal
                return self._transport(action, 'could not connect (%s)' % cause, idempotent, maybe_acted=False)
            return TransportError('the request could not be sent (%s: %s); check api_url' % (type(exc).__name__, cause),
                                  maybe_acted=False, action=action, host=self.options.host)
        # The server may have received the request and acted on it.
        if timed_out:
            return self._transport(action, 'no complete answer within %d seconds (timeout)' % timeout, idempotent)
        if isinstance(exc, (OSError, http.client.HTTPException)) or _is_tls_error(exc):
            # reset, broken pipe, RemoteDisconnected, IncompleteRead, BadStatusLine, LineTooLong, a TLS record error
            return self._transport(action, 'the connection broke after the request was sent (%s)' % cause, idempotent)
        return TransportError('the request failed after it was sent (%s: %s)' % (type(exc).__name__, cause),
                              action=action, host=self.options.host)

    def _reply(self, action, status, headers, content, secrets, idempotent):
        """Decode an HTTP answer.  Only HTTP 200 carries an API reply (the API signals errors in the body)."""
        host = self.options.host
        if status == 429 or status >= 500:
            error = TransportError('the server answered HTTP %d (%s); it is busy or failing, try again later'
                                   % (status, 'too many requests' if status == 429 else 'a server error'),
                                   action=action, host=host)
            if idempotent:
                raise _Transient(error, retry_after=_retry_after(headers))
            raise error
        where = None if status == 200 else _scrub(self.options.api_url, secrets)
        if status != 200:
            raise TransportError('the server answered HTTP %d, not 200: %s' % (status, _status_hint(status, where)),
                                 action=action, host=host)
        try:
            reply = decode_reply(content)
        except UndecodableReply as exc:
            where = _scrub(self.options.api_url, secrets)
            message = '%s; check that api_url (%s) points at the ContactNow API' % (_one_line(_scrub(exc, secrets)), where)
        except Exception as exc:  # RecursionError, MemoryError from a hostile document, a decoder bug
            where = _scrub(self.options.api_url, secrets)
            message = 'the answer could not be decoded (%s); check that api_url (%s) points at the ContactNow API' \
                      % (type(exc).__name__, where)
        else:
            return reply
        error = ReplyError(message, action=action, host=host)
        if idempotent:
            raise _Transient(error)
        raise error

    def _transport(self, action, message, idempotent, maybe_acted=True):
        error = TransportError(message, maybe_acted=maybe_acted, action=action, host=self.options.host)
        if idempotent or not maybe_acted:
            return _Transient(error)
        return error

    def _api_error(self, action, reply, secrets, attempt):
        server_text = _scrub(reply.get('error') or 'no error text given', secrets)[:_MAX_SERVER_TEXT]
        kwargs = dict(action=action, host=self.options.host, attempts=attempt)
        lowered = server_text.lower()
        if 'authentication' in lowered:
            return AuthenticationError('the API refused the username or password ("%s")' % server_text, **kwargs)
        # The other APIs may signal an expired token by "expire": -1 alone, without an error text.
        if 'expired' in lowered or (not reply.get('error') and reply.get('expire', 0) < 0):
            return ExpiredTokenError('the token has expired ("%s")' % server_text, **kwargs)
        if 'invalid token' in lowered or 'unknown token' in lowered:
            return InvalidTokenError('the token is not valid for this account and address ("%s")' % server_text, **kwargs)
        return ApiError('the API answered "%s"' % server_text, server_text=server_text, **kwargs)

    def session(self):
        """The HTTP transport of this client, created on first use (a cache hit never needs it)."""
        if self._session is None:
            from ansible_collections.eightbyeight.contactnow.plugins.module_utils._http import Transport

            self._session = Transport(USER_AGENT, watch=_watch)
        return self._session

    def _verify(self, url):
        """The TLS context for an https:// URL (built once per client), False for http://."""
        if not url.lower().startswith('https://'):
            return False
        if self._tls is None:
            from ansible_collections.eightbyeight.contactnow.plugins.module_utils._http import tls_context

            self._tls = tls_context(self.options.validate_certs, self.options.ca_path)
        return self._tls

    def call_api(self, script, method, action, token, params=None, records=None, idempotent=True):
        """One request to another ContactNow API, ``<api_url>/<script>.php``; returns the decoded reply.

        Without ``records`` (reads) every argument, the token included, travels in the POST form.
        With ``records`` (writes) the body is the JSON array of records, as the vendor's client sends
        it, so the arguments -- the token among them -- go in the query string.  Errors carry the
        script, method and action; the token is scrubbed from every message.
        """
        arguments = dict(params or {})
        arguments.update(token=token, method=method)
        url = '%s/%s.php' % (self.options.api_url, script)
        token_php_limit = getattr(self, 'max_reply_bytes', None)
        self.max_reply_bytes = MAX_API_REPLY_BYTES  # record lists dwarf a token.php reply
        try:
            if records is None:
                return self._call(action, arguments, secrets=(token,), idempotent=idempotent, url=url)
            arguments.update(action=action, format=self.options.response_format)
            return self._call(action, {}, secrets=(token,), idempotent=idempotent, url=url, query=arguments,
                              raw_body=json.dumps(records, separators=(',', ':')).encode('utf-8'))
        except ContactNowError as error:
            error.action = '%s.php %s %s' % (script, method, action)
            raise
        finally:
            self.max_reply_bytes = token_php_limit


# Plain words for the low-level failures whose own text is a repr or a tuple.
_PLAIN_CAUSES = (
    ('IncompleteRead', 'the connection closed before the whole answer arrived'),
    ('RemoteDisconnected', 'the server closed the connection without answering'),
    ('ConnectionResetError', 'the connection was reset'),
    ('BrokenPipeError', 'the connection was closed while the request was being sent'),
    ('ConnectionRefusedError', 'Connection refused'),
    ('LineTooLong', 'the answer has an overlong header line'),
    ('BadStatusLine', 'the answer is not HTTP'),
)


def _root_cause(exc):
    """The innermost reason of a transport error, in words, without repr noise."""
    causes = _causes(exc)
    for name, words in _PLAIN_CAUSES:
        if any(type(inner).__name__ == name for inner in causes):
            return words
    for inner in causes:
        if isinstance(inner, socket.gaierror):
            return 'the host name could not be resolved (%s)' % (inner.strerror or inner)
    seen = causes[-1] if causes else exc
    for inner in causes:  # the innermost in the reason/args chain that has text of its own
        if str(inner) and not str(inner).startswith('('):
            seen = inner
    text = str(seen)
    # Some libraries prefix messages with an object repr such as "<... object at 0x..>: "
    text = re.sub(r'<[^<>]{0,200} object at 0x[0-9a-fA-F]+>:? ?', '', text)
    return text[:300] or type(seen).__name__


def _causes(exc):
    """The exception and the ones it wraps (reason, args, __cause__, __context__), a few levels deep."""
    found = []
    pending = [exc]
    while pending and len(found) < 16:
        current = pending.pop(0)
        if not isinstance(current, BaseException) or any(current is seen for seen in found):
            continue
        found.append(current)
        pending.append(getattr(current, 'reason', None))
        pending.extend(arg for arg in current.args[:4] if isinstance(arg, BaseException))
        pending.extend((current.__cause__, current.__context__))
    return found


def _is_tls_error(exc):
    return any(isinstance(inner, ssl.SSLError) or type(inner).__name__ == 'SSLError' for inner in _causes(exc))


def _is_certificate_error(exc):
    """A certificate the client rejected (unknown CA, expired, wrong host name)."""
    for inner in _causes(exc):
        if isinstance(inner, ssl.SSLCertVerificationError) or type(inner).__name__ == 'CertificateError':
            return True
        text = str(inner)
        if 'CERTIFICATE_VERIFY_FAILED' in text or "doesn't match" in text or 'hostname mismatch' in text.lower():
            return True
    return False


def _one_line(text):
    return ' '.join(str(text).split())


def _retry_after(headers):
    value = headers.get('Retry-After')
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _status_hint(status, where):
    if 300 <= status < 400:
        return ('a redirect, which is not followed so that credentials only go where api_url points; '
                'set api_url (%s) to the address the API answers at' % where)
    if status in (401, 403, 407):
        return ('access was refused before the API saw the request; check that api_url (%s) is the ContactNow API '
                'and whether a proxy in between needs configuring' % where)
    if status == 404:
        return 'no token.php there; check that api_url (%s) is the ContactNow API base URL' % where
    return 'check that api_url (%s) is the ContactNow API and that nothing in between rewrites requests' % where


def _bounded(content, limit, action, host):
    if len(content) > limit:
        raise ReplyError('the answer is too large (more than %d KiB); check that api_url points at the ContactNow API'
                         % (limit // 1024), action=action, host=host)
    return content


# -- the per-attempt deadline ------------------------------------------------------------------------

_WATCHED = threading.local()


class _Deadline:
    """Shuts down the attempt's connection when ``seconds`` have passed.

    A socket timeout only bounds each read, so a server that trickles one byte a second never
    trips it; this watchdog bounds connect, TLS handshake, headers and body together.  The
    transport registers each TCP socket here as soon as it is connected, before the TLS handshake
    or a proxy tunnel (see ``_watch``).
    """

    def __init__(self, seconds):
        self.expires_at = time.monotonic() + seconds
        self.fired = False
        self._sockets = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True

    @property
    def passed(self):
        return self.fired or time.monotonic() >= self.expires_at

    def __enter__(self):
        _WATCHED.deadline = self
        self._timer.start()
        return self

    def __exit__(self, *exc_info):
        with self._lock:
            self._timer.cancel()
            self._sockets = []
        _WATCHED.deadline = None
        return False

    def watch(self, sock):
        try:
            identity = (sock.fileno(), sock.getsockname(), sock.getpeername())
        except OSError:
            return
        with self._lock:
            self._sockets.append(identity)
            if self.fired:
                _shut_down(identity)

    def _fire(self):
        with self._lock:
            self.fired = True
            for identity in self._sockets:
                _shut_down(identity)


def _watch(sock):
    """Register a new socket with the current attempt's deadline (the transport calls this)."""
    deadline = getattr(_WATCHED, 'deadline', None)
    if deadline is not None:
        deadline.watch(sock)


def _shut_down(identity):
    """Shut down the connection behind a descriptor, if it still is the one registered.

    TLS wrapping detaches the socket object that was registered, so the descriptor is duplicated
    and checked against the recorded addresses (never touching a reused descriptor).
    """
    fileno, local, peer = identity
    try:
        dup = socket.socket(fileno=os.dup(fileno))
    except OSError:
        return
    try:
        if dup.getsockname() == local and dup.getpeername() == peer:
            dup.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    finally:
        dup.close()

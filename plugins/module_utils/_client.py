# -*- coding: utf-8 -*-
# Copyright (c) eightbyeight.contactnow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The one HTTP client of the collection: every plugin talks to the ContactNow APIs through it.

This is a private module of the collection: its interface may change without notice.

HTTP is done by ``requests``, imported only when a request is sent (a lookup's cache hit
imports none of it).  Proxies and CA bundles come from the environment as ``requests`` reads
them (``HTTPS_PROXY``, ``NO_PROXY``, ``REQUESTS_CA_BUNDLE``).  What this module adds:

- Arguments travel in the POST body only; the URL is always the bare ``<api_url>/token.php``.
- Sent or not is a fact: the body is a file-like object that records being read, and urllib3
  (under ``requests``) reads it only after the connection, the TLS handshake and the headers
  succeeded (see ``_Body``).  ``newpass`` and the other APIs' writes are resent only when the body
  provably was never read.
- ``timeout`` bounds each attempt as a whole -- name resolution, connecting (to every address of
  the name), TLS, sending and the answer: the exchange runs in a worker thread that the caller
  stops waiting for at the deadline, sealing the body at that moment so that it can never be
  sent after the decision (see ``_Exchange``).
- Answers are streamed and capped, redirects are never followed, only HTTP 200 carries an API
  reply; errors become typed exceptions whose message is one line naming the action and the
  host, with every secret sent scrubbed out.
- ``get``, ``validate``, ``delete`` and reads are retried on transient faults with exponential
  backoff and jitter; other actions only when they were provably never sent.
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

from urllib.parse import quote, quote_plus, unquote, urlencode, urlsplit

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
_MAX_CAUSE_TEXT = 300

# A token.php reply is about 100 bytes; anything past this is not one (a proxy's page, a wrong URL).
MAX_REPLY_BYTES = 64 * 1024
# The largest answer call_api reads from the other APIs; narrow bigger reads with filters, fields or range.
MAX_API_REPLY_BYTES = 32 * 1024 * 1024
_READ_CHUNK = 8192

# The vendor's token errors, exactly (compared without case and surrounding blanks).  Nothing else
# is a token error: a write refused because a dataset is EXPIRED must not renew the token and resend.
_EXPIRED_TOKEN_TEXTS = ('expired token',)
_INVALID_TOKEN_TEXTS = ('invalid token', 'unknown token')

# The per-region bases of the vendor's developer repository, named when a script is not found.
REGIONAL_BASE_URLS = 'https://api.contactnow.8x8.com/api/ (US) or https://api-106.dxi.eu/ (EU and elsewhere)'

MISSING_REQUESTS = ('the Python library requests is not installed for the Python that runs this task: install it there '
                    '(pip install requests) -- on the Ansible controller for the lookups, on the managed host '
                    '(its ansible_python_interpreter) for the modules')

_PROXY_VARIABLES = ('https_proxy', 'http_proxy', 'all_proxy')


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


class _Sealed(Exception):
    """Internal: the body was asked for after the attempt's deadline; the request must not go out."""


class _Body:
    """A request body that records whether anything read it, and that can be sealed.

    ``requests`` takes Content-Length from ``__len__`` and hands the object to urllib3 untouched;
    urllib3 calls ``read()`` only once the connection is up and the headers are written, so an
    unread body is proof that the server never received the request's arguments.  ``seal()``
    takes that fact at the deadline, atomically with forbidding any later read.
    """

    def __init__(self, data, content_type):
        self._data = data
        self._offset = 0
        self._lock = threading.Lock()
        self._sealed = False
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
        with self._lock:
            if self._sealed:
                raise _Sealed('the deadline passed before the request was sent')
            self.was_read = True
        if size is None or size < 0:
            size = len(self._data) - self._offset
        chunk = self._data[self._offset:self._offset + size]
        self._offset += len(chunk)
        return chunk

    def seal(self):
        """Forbid any further read; whether the body was read before (the request may have arrived)."""
        with self._lock:
            self._sealed = True
            return self.was_read


class _Exchange:
    """One request and its answer in a worker thread, so that a deadline bounds all of it.

    A socket timeout bounds each read alone: a server that trickles a byte a second, a name that
    takes long to resolve or a name with several unreachable addresses outlast it.  The caller
    waits for the worker until the deadline and then stops waiting.  The worker, left alone in a
    daemon thread that never holds up the end of the process, ends when the server answers or
    its socket timeout fires (at once when the answer's connection can be shut down), and its
    outcome is dropped.
    """

    def __init__(self, send):
        self._send = send
        self.response = None  # the streamed answer, once its headers arrived
        self.abandoned = False
        self.outcome = None
        self.error = None
        self._thread = threading.Thread(target=self._run, name='contactnow-request')
        self._thread.daemon = True  # never holds up the end of the process

    def _run(self):
        try:
            self.outcome = self._send(self)
        except BaseException as exc:  # handed to the caller, which decides what it means
            self.error = exc

    def finished_within(self, seconds):
        """Run the exchange; False when ``seconds`` passed first (the exchange is then abandoned)."""
        self._thread.start()
        self._thread.join(seconds)
        if not self._thread.is_alive():
            return True
        self.abandoned = True
        # An answer already streaming is cut at once (urllib3 2.3+), so the worker ends now.
        shutdown = getattr(getattr(self.response, 'raw', None), 'shutdown', None)
        if shutdown is not None:
            try:
                shutdown()
            except Exception:
                pass
        return False


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
    """The ContactNow actions over one ``requests`` session."""

    def __init__(self, options, session=None, retry_policy=None):
        self.options = options
        self._session = session
        self.retry_policy = retry_policy or RetryPolicy(options.retries)

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

    def _call(self, action, fields, secrets=(), idempotent=True, url=None, query=None, raw_body=None,
              reply_limit=MAX_REPLY_BYTES):
        """Send ``action`` with its retries and return the decoded reply (``success`` true).

        ``url`` defaults to ``<api_url>/token.php``; ``query`` is a dict for the query string (never
        a secret: URLs end up in logs); ``raw_body`` is bytes sent instead of the urlencoded form,
        or a ``(bytes, content_type)`` pair (the default content type is application/json);
        ``reply_limit`` is the largest answer read, in bytes.
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
                reply = self._attempt(action, body, secrets, idempotent, url or self.options.token_url, query, reply_limit)
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

    def _attempt(self, action, body, secrets, idempotent, url, query, reply_limit):
        """One HTTP exchange, bounded as a whole by ``timeout`` (see ``_Exchange``).

        Whether the server can have received the arguments is decided by a fact, not by guessing
        from exception types: the body records being read, and it is read only after the TCP
        connection, the TLS handshake and the request headers have all succeeded.  A failure while
        the body is unread proves the request never arrived; at the deadline the body is sealed, so
        an abandoned attempt can never send it later.
        """
        session = self.session(action)
        payload = _Body.of(body)
        headers = {'Content-Type': payload.content_type, 'Accept-Encoding': 'identity', 'Connection': 'close'}
        timeout = self.options.timeout

        def send(exchange):
            # The socket timeout ends an abandoned worker that waits on a silent server.
            response = session.post(url, data=payload, params=query or None, headers=headers, timeout=timeout,
                                    verify=self.options.verify, allow_redirects=False, stream=True)
            exchange.response = response
            try:
                return response.status_code, response.headers, self._read_answer(action, response, reply_limit, exchange)
            finally:
                response.close()

        exchange = _Exchange(send)
        if not exchange.finished_within(timeout):
            raise self._failure(action, None, payload.seal(), secrets, idempotent, url)
        error = exchange.error
        if isinstance(error, (ContactNowError, _Transient)):
            raise error
        if error is not None:  # every other failure becomes ours; which one depends on payload.was_read
            raise self._failure(action, error, payload.was_read, secrets, idempotent, url)
        status, response_headers, content = exchange.outcome
        return self._reply(action, status, response_headers, content, secrets, idempotent, url)

    def _read_answer(self, action, response, limit, exchange):
        """The body, streamed in chunks, at most ``limit`` bytes of it."""
        if exchange.abandoned:  # given up on while the headers arrived: read nothing
            raise _Sealed('the deadline passed')
        if hasattr(response, 'iter_content'):
            chunks = response.iter_content(_READ_CHUNK)
        else:  # an answer built in memory (the unit tests' sessions)
            chunks = (response.content,)
        content = []
        size = 0
        for chunk in chunks:
            if exchange.abandoned:
                raise _Sealed('the deadline passed')  # nobody waits for this answer any more
            size += len(chunk)
            if size > limit:
                raise ReplyError('the answer is too large (more than %d KiB); check that api_url points at the ContactNow API'
                                 % (limit // 1024), action=action, host=self.options.host)
            content.append(chunk)
        return b''.join(content)

    def _failure(self, action, exc, was_read, secrets, idempotent, url):
        """The error (or _Transient) for an exception raised while sending or receiving.

        ``exc`` is None when the deadline passed with the exchange still under way.
        """
        import http.client  # requests imported both already
        import requests

        secrets = tuple(secrets) + _proxy_secrets()
        cause = _one_line(_scrub(_root_cause(exc), secrets))[:_MAX_CAUSE_TEXT] if exc is not None else ''
        timeout = self.options.timeout
        timed_out = exc is None or isinstance(exc, (requests.exceptions.Timeout, socket.timeout, TimeoutError))
        if not was_read:
            # Provably never received: safe to retry any action, newpass included.
            if timed_out:
                return self._transport(action, 'could not connect within %d seconds (timeout)' % timeout, idempotent, maybe_acted=False)
            if _is_tls_error(exc):
                if _is_certificate_error(exc):
                    message = ('TLS verification failed (%s). If the server uses a private CA, point ca_path (or '
                               'REQUESTS_CA_BUNDLE) at its bundle' % cause)
                    if self.options.ca_path and os.path.isdir(self.options.ca_path):
                        message += ('; ca_path is a directory, which OpenSSL only searches under hashed names: run '
                                    'openssl rehash (c_rehash) on it, or point ca_path at a PEM bundle file')
                else:
                    message = ('the TLS handshake failed (%s); check that api_url (%s) is the HTTPS address of the API'
                               % (cause, _scrub(self.options.api_url, secrets)))
                return TransportError(message, maybe_acted=False, action=action, host=self.options.host)
            if isinstance(exc, requests.exceptions.InvalidProxyURL):
                return TransportError('the proxy address in the environment (HTTPS_PROXY, HTTP_PROXY or ALL_PROXY) is not '
                                      'valid (%s)' % cause, maybe_acted=False, action=action, host=self.options.host)
            if isinstance(exc, (requests.exceptions.InvalidURL, requests.exceptions.InvalidSchema,
                                requests.exceptions.MissingSchema, requests.exceptions.InvalidHeader,
                                http.client.InvalidURL, ValueError)):
                return TransportError('the request could not be sent (%s); check api_url' % cause,
                                      maybe_acted=False, action=action, host=self.options.host)
            if isinstance(exc, (OSError, http.client.HTTPException)):  # requests' ConnectionError is an OSError
                return self._transport(action, 'could not connect (%s)' % cause, idempotent, maybe_acted=False)
            return TransportError('the request could not be sent (%s: %s); check api_url' % (type(exc).__name__, cause),
                                  maybe_acted=False, action=action, host=self.options.host)
        # The server may have received the request and acted on it.
        if timed_out:
            return self._transport(action, 'no complete answer within %d seconds (timeout)' % timeout, idempotent)
        if isinstance(exc, (OSError, http.client.HTTPException)) or _is_tls_error(exc):
            # reset, broken pipe, cut short, not HTTP (requests' exceptions are OSErrors), a TLS record error
            return self._transport(action, 'the connection broke after the request was sent (%s)' % cause, idempotent)
        return TransportError('the request failed after it was sent (%s: %s)' % (type(exc).__name__, cause),
                              action=action, host=self.options.host)

    def _reply(self, action, status, headers, content, secrets, idempotent, url):
        """Decode an HTTP answer.  Only HTTP 200 carries an API reply (the API signals errors in the body)."""
        host = self.options.host
        if status == 429 or status >= 500:
            error = TransportError('the server answered HTTP %d (%s); it is busy or failing, try again later'
                                   % (status, 'too many requests' if status == 429 else 'a server error'),
                                   action=action, host=host)
            if idempotent:
                raise _Transient(error, retry_after=_retry_after(headers))
            raise error
        if status != 200:
            where = _scrub(self.options.api_url, secrets)
            script = url.rsplit('/', 1)[-1]
            raise TransportError('the server answered HTTP %d, not 200: %s' % (status, _status_hint(status, where, script)),
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
        said = str(reply.get('error') or '').strip().lower()
        if 'authentication' in said:
            return AuthenticationError('the API refused the username or password ("%s")' % server_text, **kwargs)
        # The vendor's exact texts only; the other APIs may also say "expire": -1 with no error text.
        if said in _EXPIRED_TOKEN_TEXTS or (not said and _number(reply.get('expire')) < 0):
            return ExpiredTokenError('the token has expired ("%s")' % server_text, **kwargs)
        if said in _INVALID_TOKEN_TEXTS:
            return InvalidTokenError('the token is not valid for this account and address ("%s")' % server_text, **kwargs)
        return ApiError('the API answered "%s"' % server_text, server_text=server_text, **kwargs)

    def session(self, action=None):
        """The ``requests`` session of this client, created on first use (a cache hit never needs it)."""
        if self._session is None:
            try:
                import requests
            except ImportError:
                raise TransportError(MISSING_REQUESTS, maybe_acted=False, action=action, host=self.options.host) from None
            if not self.options.validate_certs:
                import warnings

                # The option already draws a warning of ours (INSECURE_TLS_WARNING); urllib3's would repeat it per request.
                warnings.filterwarnings('ignore', message='Unverified HTTPS request')
            self._session = requests.Session()
            self._session.headers['User-Agent'] = USER_AGENT
        return self._session

    def call_api(self, script, method, action, token, params=None, records=None, idempotent=True):
        """One request to another ContactNow API, ``<api_url>/<script>.php``; returns the decoded reply.

        Without ``records`` (reads) every argument, the token included, travels in the POST form.
        With ``records`` (writes) the body is the JSON array of records, as the vendor's client sends
        it, so the arguments -- the token among them -- go in the query string.  Errors carry the
        script, method and action; the token is scrubbed from every message.  Record lists dwarf a
        token.php reply: answers up to :data:`MAX_API_REPLY_BYTES` are read.
        """
        arguments = dict(params or {})
        arguments.update(token=token, method=method)
        url = '%s/%s.php' % (self.options.api_url, script)
        try:
            if records is None:
                return self._call(action, arguments, secrets=(token,), idempotent=idempotent, url=url,
                                  reply_limit=MAX_API_REPLY_BYTES)
            arguments.update(action=action, format=self.options.response_format)
            return self._call(action, {}, secrets=(token,), idempotent=idempotent, url=url, query=arguments,
                              raw_body=json.dumps(records, separators=(',', ':')).encode('utf-8'),
                              reply_limit=MAX_API_REPLY_BYTES)
        except ContactNowError as error:
            error.action = '%s.php %s %s' % (script, method, action)
            raise


def _number(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0


def _proxy_secrets():
    """The passwords in the proxy variables of the environment, to scrub from messages."""
    secrets = []
    for name, value in os.environ.items():
        if name.lower() in _PROXY_VARIABLES and value and '@' in value:
            try:
                password = urlsplit(value if '://' in value else 'http://' + value).password
            except ValueError:
                continue
            if password:
                secrets.extend((password, unquote(password)))
    return tuple(secrets)


def _plain_causes():
    """Plain words for the low-level failures whose own text is a repr or a tuple."""
    import http.client

    return (
        (http.client.IncompleteRead, 'the connection closed before the whole answer arrived'),
        (http.client.RemoteDisconnected, 'the server closed the connection without answering'),
        (ConnectionResetError, 'the connection was reset'),
        (BrokenPipeError, 'the connection was closed while the request was being sent'),
        (ConnectionRefusedError, 'Connection refused'),
        (http.client.LineTooLong, 'the answer has an overlong header line'),
        (http.client.BadStatusLine, 'the answer is not HTTP'),
    )


def _root_cause(exc):
    """The innermost reason of a transport error, in words, without repr noise (and not cut: scrub first)."""
    causes = _causes(exc)
    for kind, words in _plain_causes():
        if any(isinstance(inner, kind) for inner in causes):
            return words
    for inner in causes:
        if isinstance(inner, socket.gaierror):
            return 'the host name could not be resolved (%s)' % (inner.strerror or inner)
    seen = causes[-1] if causes else exc
    for inner in causes:  # the innermost in the reason/args chain that has text of its own
        if str(inner) and not str(inner).startswith('('):
            seen = inner
    text = str(seen)
    # urllib3 prefixes messages with an object repr such as "<urllib3.connection.HTTPConnection object at 0x..>: "
    text = re.sub(r'<[^<>]{0,200} object at 0x[0-9a-fA-F]+>:? ?', '', text)
    return text or type(seen).__name__


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
    import requests

    return any(isinstance(inner, (ssl.SSLError, requests.exceptions.SSLError)) for inner in _causes(exc))


def _is_certificate_error(exc):
    """A certificate the client rejected (unknown CA, expired, wrong host name)."""
    for inner in _causes(exc):
        if isinstance(inner, ssl.SSLCertVerificationError):
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


def _status_hint(status, where, script):
    if 300 <= status < 400:
        return ('a redirect, which is not followed so that credentials only go where api_url points; '
                'set api_url (%s) to the address the API answers at' % where)
    if status in (401, 403, 407):
        return ('access was refused before the API saw the request; check that api_url (%s) is the ContactNow API '
                'and whether a proxy in between needs configuring' % where)
    if status == 404:
        return ('no %s there; check that api_url (%s) is the ContactNow API base URL of your region, for example %s'
                % (script, where, REGIONAL_BASE_URLS))
    return 'check that api_url (%s) is the ContactNow API and that nothing in between rewrites requests' % where

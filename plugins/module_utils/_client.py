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
  and jitter.  ``newpass`` is retried only when the request provably never left this machine.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import json
import random
import time

from urllib.parse import quote, quote_plus

from ansible_collections.eightbyeight.contactnow.plugins.module_utils._decode import UndecodableReply, decode_reply

COLLECTION_VERSION = '0.1.0'
USER_AGENT = 'eightbyeight.contactnow/%s' % COLLECTION_VERSION

Token = collections.namedtuple('Token', ['token', 'expire'])

_MAX_SERVER_TEXT = 200
# The largest answer call_api reads from the other APIs; narrow bigger reads with filters, fields or range.
MAX_API_REPLY_BYTES = 32 * 1024 * 1024


class ContactNowError(Exception):
    """Base of every error the client raises: one line, naming the action and the host."""

    def __init__(self, message, action=None, host=None, attempts=1):
        super(ContactNowError, self).__init__(message)
        self.message = message
        self.action = action
        self.host = host
        self.attempts = attempts

    def __str__(self):
        if self.action and self.host:
            return 'ContactNow %s request to %s failed: %s' % (self.action, self.host, self.message)
        return self.message


class AuthenticationError(ContactNowError):
    """The username/password pair was refused ("Authentication failure")."""


class InvalidTokenError(ContactNowError):
    """The token is unknown, deleted, or bound to another address ("Invalid token")."""


class ExpiredTokenError(InvalidTokenError):
    """The token was valid once and has expired ("Expired token")."""


class ApiError(ContactNowError):
    """Any other ``success: false`` answer; ``server_text`` holds the API's own words."""

    def __init__(self, message, server_text=None, **kwargs):
        super(ApiError, self).__init__(message, **kwargs)
        self.server_text = server_text


class TransportError(ContactNowError):
    """No usable HTTP answer: refused, timed out, TLS, DNS, or an HTTP error status.

    ``maybe_acted`` is False only when the request provably never reached the server.
    """

    def __init__(self, message, maybe_acted=True, **kwargs):
        super(TransportError, self).__init__(message, **kwargs)
        self.maybe_acted = maybe_acted


class ReplyError(ContactNowError):
    """An HTTP answer came back but it is not a token.php reply (HTML, garbage, cut short)."""


class MissingLibraryError(ContactNowError):
    """A Python library the client needs is not installed where the plugin runs."""

    def __init__(self, library, exception):
        super(MissingLibraryError, self).__init__('the Python library %s is required: %s' % (library, exception))
        self.library = library
        self.exception = exception


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


def _scrub(text, secrets):
    """Mask each secret, also in the URL-encoded forms a server echoing its request would use."""
    text = str(text)
    for secret in secrets:
        if secret:
            for form in sorted(set((secret, quote(secret, safe=''), quote_plus(secret))), key=len, reverse=True):
                text = text.replace(form, '********')
    return text


class ContactNowClient:
    """token.php actions over one HTTP session."""

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

    def _call(self, action, fields, secrets=(), idempotent=True, url=None, query=None, raw_body=None):
        """POST ``fields`` (plus action and format) to ``url`` (default token.php) and decode the reply.

        ``query`` goes in the query string; ``raw_body`` (bytes, sent as JSON) replaces the whole form body.
        """
        body = dict(fields)
        body['action'] = action
        body['format'] = self.options.response_format
        if raw_body is not None:
            body = raw_body
        secrets = tuple(secrets) + (self.options.password,)
        attempt = 0
        while True:
            attempt += 1
            try:
                reply = self._attempt(action, body, secrets, idempotent, url or self.options.token_url, query)
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

    def _attempt(self, action, body, secrets, idempotent, url, query=None):
        session = self.session()
        import requests  # imported by session() already

        host = self.options.host
        headers = {'Content-Type': 'application/json'} if isinstance(body, bytes) else None
        try:
            response = session.post(
                url, params=query, data=body, headers=headers, timeout=self.options.timeout,
                verify=self.options.verify, allow_redirects=False)
        except requests.exceptions.SSLError as exc:
            raise TransportError(
                'TLS verification failed (%s). If the server uses a private CA, point ca_path at its bundle'
                % _scrub(_root_cause(exc), secrets), maybe_acted=False, action=action, host=host)
        except (requests.exceptions.ConnectTimeout, requests.exceptions.InvalidURL, requests.exceptions.InvalidSchema) as exc:
            raise self._transport(action, 'could not connect (%s)' % _scrub(_root_cause(exc), secrets), idempotent, maybe_acted=False)
        except requests.exceptions.Timeout:
            raise self._transport(action, 'no answer within %d seconds (timeout)' % self.options.timeout, idempotent)
        except requests.exceptions.ConnectionError as exc:
            refused = _connection_never_made(exc)
            raise self._transport(action, '%s (%s)' % ('could not connect' if refused else 'the connection broke',
                                                       _scrub(_root_cause(exc), secrets)), idempotent, maybe_acted=not refused)
        except requests.exceptions.RequestException as exc:
            raise TransportError('request failed: %s' % _scrub(_root_cause(exc), secrets), action=action, host=host)

        status = response.status_code
        if status == 429 or status >= 500:
            error = TransportError('the server answered HTTP %d' % status, action=action, host=host)
            if idempotent:
                raise _Transient(error, retry_after=_retry_after(response))
            raise error
        try:
            reply = decode_reply(response.content)
        except UndecodableReply as exc:
            if status != 200:
                raise TransportError('the server answered HTTP %d; check that api_url (%s) is the ContactNow API base URL'
                                     % (status, self.options.api_url), action=action, host=host)
            error = ReplyError('%s; check that api_url (%s) points at the ContactNow API'
                               % (_scrub(exc, secrets), self.options.api_url), action=action, host=host)
            if idempotent:
                raise _Transient(error)
            raise error
        return reply

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
        if 'expired' in lowered:
            return ExpiredTokenError('the token has expired ("%s")' % server_text, **kwargs)
        if 'invalid token' in lowered or 'unknown token' in lowered:
            return InvalidTokenError('the token is not valid for this account and address ("%s")' % server_text, **kwargs)
        return ApiError('the API answered "%s"' % server_text, server_text=server_text, **kwargs)

    def session(self):
        """The requests session of this client, created on first use (a cache hit never needs it)."""
        if self._session is None:
            try:
                import requests  # keeps cache hits import-free
            except ImportError as exc:
                raise MissingLibraryError('requests', exc)
            self._session = requests.Session()
            self._session.headers['User-Agent'] = USER_AGENT
        return self._session

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


def _root_cause(exc):
    """The innermost reason of a requests/urllib3 error, without its repr noise."""
    seen = exc
    for dummy in range(8):  # exceptions wrap each other a few levels deep; never loop on a cycle
        inner = getattr(seen, 'reason', None) or (seen.args[0] if seen.args and isinstance(seen.args[0], BaseException) else None)
        if not isinstance(inner, BaseException) or inner is seen:
            break
        seen = inner
    text = str(seen)
    # urllib3 prefixes messages with an object repr such as "<urllib3.connection.HTTPConnection object at 0x..>: "
    if text.startswith('<') and '>: ' in text:
        text = text.split('>: ', 1)[1]
    return text


def _connection_never_made(exc):
    """True when the TCP connection was never established (refused, DNS), so nothing was sent."""
    text = repr(exc)
    return any(marker in text for marker in ('NewConnectionError', 'NameResolutionError', 'Connection refused',
                                             'Name or service not known', 'nodename nor servname'))


def _retry_after(response):
    value = response.headers.get('Retry-After')
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None

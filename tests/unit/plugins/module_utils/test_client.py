# -*- coding: utf-8 -*-
# Copyright (c) eightbyeight.contactnow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""ContactNowClient: request encoding, error mapping, secret scrubbing and the retry policy.

HTTP is replaced by a fake session whose ``post()`` (``requests.Session.post``'s shape) records
each call and plays back a script of small in-memory responses or the exceptions ``requests`` raises;
``sleep`` is injected, so no test waits.  The tests named ``test_real_*`` use ``requests`` against
local servers on 127.0.0.1 and ::1 (a CONNECT proxy, a private CA, trickling, silent and
unreachable servers, a resolver stub) to pin the shapes the fakes imitate.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import http.client
import json
import os
import select
import socket
import ssl
import struct
import threading
import time

import pytest
import requests

from urllib.parse import parse_qs, quote, quote_plus

from ansible_collections.eightbyeight.contactnow.plugins.module_utils._client import (
    USER_AGENT,
    ApiError,
    AuthenticationError,
    ContactNowClient,
    ContactNowError,
    ExpiredTokenError,
    InvalidTokenError,
    ReplyError,
    RetryPolicy,
    Token,
    TransportError,
)
from ansible_collections.eightbyeight.contactnow.plugins.module_utils._options import ConnectionOptions

HOST = 'api.example.test:8443'
API_URL = 'https://%s' % HOST
USERNAME = 'apiuser'
PASSWORD = 'S3cr3t+pass/word&x=y'
NEW_PASSWORD = 'N3w-pass word%2F!'
TOKEN = 'bd932b769fc7263316345627d0a9ef3b8f8d1f8d'
EXPIRE = 1307975676


# -- fakes ----------------------------------------------------------------------------------------


class Headers(dict):
    """Response headers, looked up regardless of case like http.client's."""

    def get(self, name, default=None):
        for key, value in self.items():
            if key.lower() == name.lower():
                return value
        return default


class FakeResponse:
    """What the transport's post() returns, preloaded: status_code, headers, content, close()."""

    def __init__(self, status, headers, content):
        self.status_code = status
        self.headers = headers
        self.content = content
        self.closed = False

    def close(self):
        self.closed = True


def response(body=b'', status=200, headers=None):
    """An answer with the given status, body and headers."""
    content = body.encode('utf-8') if not isinstance(body, bytes) else body
    all_headers = Headers({'Content-Type': 'text/html; charset=UTF-8'})  # what PHP servers send, JSON or not
    all_headers.update(headers or {})
    return FakeResponse(status, all_headers, content)


def reply(**fields):
    return response(json.dumps(fields))


def refused():
    """What requests raises when nothing listens on the port (the request never left)."""
    return NeverSent(requests.exceptions.ConnectionError(ConnectionRefusedError(111, 'Connection refused')))


def reset():
    """What requests raises when the server drops the connection after reading the request."""
    return requests.exceptions.ConnectionError(ConnectionResetError(104, 'Connection reset by peer'))


def read_timeout():
    return requests.exceptions.ReadTimeout(socket.timeout('timed out'))


def connect_timeout():
    return NeverSent(requests.exceptions.ConnectTimeout(socket.timeout('timed out')))


def tls_failure():
    return NeverSent(requests.exceptions.SSLError(ssl.SSLCertVerificationError(
        1, '[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local issuer certificate (_ssl.c:1006)')))


class NeverSent:
    """A script entry: raise ``error`` before reading the request body, as a failed connect does."""

    def __init__(self, error):
        self.error = error


class FakeSession:
    """Records every post() and answers from a script: a Response is returned, an exception raised.

    Like http.client, it reads the request body before answering or failing, except for a
    :class:`NeverSent` entry, which fails with the body unread.  When the script runs out, the
    last entry repeats.
    """

    def __init__(self, *script):
        self.script = list(script)
        self.calls = []

    def post(self, url, **kwargs):
        body = kwargs['data']
        call = dict(kwargs, url=url, body=body._data)  # peeking leaves the body "unread"
        call['data'] = dict((key, values[0]) for key, values in parse_qs(body._data.decode('utf-8')).items())
        self.calls.append(call)
        outcome = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        if isinstance(outcome, NeverSent):
            raise outcome.error
        assert body.read() == call['body']
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    @property
    def actions(self):
        return [call['data']['action'] for call in self.calls]


class Sleeps(list):
    """An injectable sleep that records the delays asked for."""

    def __call__(self, seconds):
        self.append(seconds)


def make_client(*script, **kwargs):
    retries = kwargs.pop('retries', 3)
    jitter = kwargs.pop('jitter', lambda: 0.5)
    options = ConnectionOptions(**dict(dict(api_url=API_URL, username=USERNAME, password=PASSWORD, retries=retries), **kwargs))
    session = FakeSession(*script)
    sleeps = Sleeps()
    client = ContactNowClient(options, session=session, retry_policy=RetryPolicy(retries, sleep=sleeps, jitter=jitter))
    return client, session, sleeps


def assert_no_secret(error, *secrets):
    texts = [str(error), repr(error), getattr(error, 'message', ''), getattr(error, 'server_text', '') or '']
    for secret in secrets:
        for encoded in (secret, quote(secret, safe=''), quote_plus(secret)):
            for text in texts:
                assert encoded not in text, 'a secret leaked into %r' % text


# -- request encoding -----------------------------------------------------------------------------


def test_get_posts_credentials_in_the_body_to_the_bare_url():
    client, session, _sleeps = make_client(reply(success=True, token=TOKEN, expire=EXPIRE))
    assert client.get_token(USERNAME, PASSWORD) == Token(TOKEN, EXPIRE)
    (call,) = session.calls
    assert call['url'] == API_URL + '/token.php'
    assert '?' not in call['url']
    assert call['data'] == {'action': 'get', 'format': 'json', 'username': USERNAME, 'password': PASSWORD}
    assert call['allow_redirects'] is False
    assert call['stream'] is True
    assert call['timeout'] == 30
    assert call['verify'] is True


def test_get_with_address():
    client, session, _sleeps = make_client(reply(success=True, token=TOKEN, expire=EXPIRE))
    client.get_token(USERNAME, PASSWORD, address='192.0.2.15')
    assert session.calls[0]['data']['address'] == '192.0.2.15'


@pytest.mark.parametrize('method, args, expected', [
    ('validate', (TOKEN,), {'action': 'validate', 'token': TOKEN}),
    ('delete', (TOKEN,), {'action': 'delete', 'token': TOKEN}),
    ('change_password', (TOKEN, NEW_PASSWORD), {'action': 'newpass', 'token': TOKEN, 'password': NEW_PASSWORD}),
])
def test_each_action_posts_its_arguments_in_the_body(method, args, expected):
    client, session, _sleeps = make_client(reply(success=True, expire=EXPIRE), response_format='xml')
    getattr(client, method)(*args)
    (call,) = session.calls
    assert call['url'] == API_URL + '/token.php'
    assert call['data'] == dict(expected, format='xml')


@pytest.mark.parametrize('api_url, token_url', [
    ('https://api.contactnow.8x8.com', 'https://api.contactnow.8x8.com/token.php'),
    ('https://api.contactnow.8x8.com/api/', 'https://api.contactnow.8x8.com/api/token.php'),
    ('http://127.0.0.1:8080/', 'http://127.0.0.1:8080/token.php'),
])
def test_token_url_follows_the_base_url(api_url, token_url):
    client, session, _sleeps = make_client(reply(success=True, expire=EXPIRE), api_url=api_url)
    client.validate(TOKEN)
    assert session.calls[0]['url'] == token_url


CA_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'fixtures', 'localhost-cert.pem')


@pytest.mark.parametrize('settings, verify', [
    (dict(), True),
    (dict(ca_path=CA_FILE), CA_FILE),
    (dict(validate_certs=False, ca_path='/etc/ssl/private-ca.pem'), False),
])
def test_tls_settings_and_timeout_reach_requests(settings, verify):
    client, session, _sleeps = make_client(reply(success=True, expire=EXPIRE), timeout=7, **settings)
    client.validate(TOKEN)
    assert session.calls[0]['verify'] == verify
    assert session.calls[0]['timeout'] == 7


def test_real_transport_encodes_a_form_body_and_a_bare_url():
    with LocalServer(answer_json) as server:
        address = server.url.split('://', 1)[1]
        client = real_client(server.url)
        assert client.get_token(USERNAME, PASSWORD) == Token(TOKEN, EXPIRE)
    (request,) = server.requests
    head, body = request.split(b'\r\n\r\n', 1)
    lines = head.decode('ascii').split('\r\n')
    assert lines[0] == 'POST /token.php HTTP/1.1'
    for secret in (USERNAME, PASSWORD, quote_plus(PASSWORD)):
        assert secret not in lines[0]
    headers = dict((name.lower(), value.strip()) for name, _sep, value in (line.partition(':') for line in lines[1:]))
    assert headers['content-type'] == 'application/x-www-form-urlencoded'
    assert headers['user-agent'] == USER_AGENT
    assert headers['content-length'] == str(len(body))
    assert headers['host'] == address
    assert headers['accept-encoding'] == 'identity'
    assert headers['connection'] == 'close'
    assert 'transfer-encoding' not in headers
    assert parse_qs(body.decode('utf-8')) == {'action': ['get'], 'format': ['json'], 'username': [USERNAME],
                                              'password': [PASSWORD]}


def test_no_session_is_created_until_a_request_is_made():
    client = ContactNowClient(ConnectionOptions(api_url=API_URL))
    assert client._session is None
    session = client.session()
    assert isinstance(session, requests.Session)
    assert session.headers['User-Agent'] == USER_AGENT


# -- replies --------------------------------------------------------------------------------------


def test_validate_returns_expire():
    client, _session, _sleeps = make_client(reply(success=True, expire=EXPIRE))
    assert client.validate(TOKEN) == EXPIRE


def test_xml_reply_is_decoded_like_json():
    client, _session, _sleeps = make_client(response(
        '<?xml version="1.0"?>\n<result><success>1</success><token>%s</token><expire>%d</expire></result>\n' % (TOKEN, EXPIRE)))
    assert client.get_token(USERNAME, PASSWORD) == Token(TOKEN, EXPIRE)


def test_get_success_without_token_is_a_reply_error():
    client, _session, _sleeps = make_client(reply(success=True, expire=EXPIRE))
    with pytest.raises(ReplyError, match='no token'):
        client.get_token(USERNAME, PASSWORD)


def test_validate_success_without_expire_is_a_reply_error():
    client, _session, _sleeps = make_client(reply(success=True))
    with pytest.raises(ReplyError, match='no expire'):
        client.validate(TOKEN)


# -- error mapping --------------------------------------------------------------------------------


@pytest.mark.parametrize('server_text, error_type', [
    ('Authentication failure', AuthenticationError),
    ('authentication FAILURE', AuthenticationError),
    ('Invalid token', InvalidTokenError),
    ('Unknown token', InvalidTokenError),
    ('Expired token', ExpiredTokenError),
    ('EXPIRED TOKEN', ExpiredTokenError),
    # Only the vendor's exact texts are token errors: anything else is the API's answer to the request.
    ('Token expired', ApiError),
    ('Dataset 12 is EXPIRED', ApiError),
    ('Cannot write: dataset state expired', ApiError),
    ('Invalid token type for this field', ApiError),
    ('Bad argument: xyz', ApiError),
    ('Rate limit exceeded', ApiError),
])
@pytest.mark.parametrize('body_format', ['json', 'xml'])
def test_server_error_texts_map_to_error_types(server_text, error_type, body_format):
    if body_format == 'json':
        body = json.dumps({'success': False, 'error': server_text, 'expire': -1})
    else:
        body = '<result><success>0</success><error>%s</error><expire>-1</expire></result>' % server_text
    client, session, _sleeps = make_client(response(body))
    with pytest.raises(ContactNowError) as info:
        client.validate(TOKEN)
    assert info.type is error_type
    assert server_text in str(info.value)
    assert len(session.calls) == 1  # API errors are answers, never retried


@pytest.mark.parametrize('body', [
    '{"success": false, "expire": -1}',
    '{"success": false, "error": "", "expire": -1}',
    '<result><success>0</success><expire>-1</expire></result>',
])
def test_expire_minus_one_without_error_text_is_an_expired_token(body):
    client, session, _sleeps = make_client(response(body))
    with pytest.raises(ExpiredTokenError, match='no error text given'):
        client.validate(TOKEN)
    assert len(session.calls) == 1


def test_no_error_text_without_expire_stays_an_api_error():
    client, _session, _sleeps = make_client(response('{"success": false}'))
    with pytest.raises(ContactNowError) as info:
        client.validate(TOKEN)
    assert info.type is ApiError


def test_expired_is_a_kind_of_invalid():
    assert issubclass(ExpiredTokenError, InvalidTokenError)
    assert not issubclass(AuthenticationError, InvalidTokenError)


def test_api_error_keeps_the_server_text():
    client, _session, _sleeps = make_client(reply(success=False, error='Bad argument: xyz'))
    with pytest.raises(ApiError) as info:
        client.get_token(USERNAME, PASSWORD)
    assert info.value.server_text == 'Bad argument: xyz'


def test_failure_without_error_text():
    client, _session, _sleeps = make_client(reply(success=False))
    with pytest.raises(ApiError, match='no error text given'):
        client.validate(TOKEN)


def test_long_server_text_is_cut():
    client, _session, _sleeps = make_client(reply(success=False, error='Bad argument: ' + 'x' * 5000))
    with pytest.raises(ApiError) as info:
        client.validate(TOKEN)
    assert len(str(info.value)) < 400


@pytest.mark.parametrize('method, args, action', [
    ('get_token', (USERNAME, PASSWORD), 'get'),
    ('validate', (TOKEN,), 'validate'),
    ('delete', (TOKEN,), 'delete'),
    ('change_password', (TOKEN, NEW_PASSWORD), 'newpass'),
])
def test_messages_name_the_action_and_the_host(method, args, action):
    client, _session, _sleeps = make_client(reply(success=False, error='Authentication failure'))
    with pytest.raises(ContactNowError) as info:
        getattr(client, method)(*args)
    message = str(info.value)
    assert message.startswith('ContactNow %s request to %s failed: ' % (action, HOST))
    assert info.value.action == action
    assert info.value.host == HOST
    assert '\n' not in message


def test_host_in_messages_drops_the_path():
    client, _session, _sleeps = make_client(reply(success=False, error='Invalid token'),
                                            api_url='https://api-106.dxi.eu/api/')
    with pytest.raises(InvalidTokenError) as info:
        client.validate(TOKEN)
    assert ' to api-106.dxi.eu failed' in str(info.value)


# -- secrets never appear in messages, even when the server echoes them ------------------------------


@pytest.mark.parametrize('echo', [
    lambda: 'Authentication failure for %s/%s' % (USERNAME, PASSWORD),
    lambda: 'Bad argument: password=%s' % PASSWORD,
    lambda: 'Bad argument: action=get&username=%s&password=%s' % (USERNAME, quote_plus(PASSWORD)),
    lambda: 'Bad argument: password=%s' % quote(PASSWORD, safe=''),
])
def test_get_error_never_contains_the_password(echo):
    client, _session, _sleeps = make_client(reply(success=False, error=echo()))
    with pytest.raises(ContactNowError) as info:
        client.get_token(USERNAME, PASSWORD)
    assert_no_secret(info.value, PASSWORD)


@pytest.mark.parametrize('method', ['validate', 'delete'])
@pytest.mark.parametrize('template', ['Invalid token %s', 'Expired token: %s', 'Bad argument: token=%s'])
def test_token_errors_never_contain_the_token(method, template):
    client, _session, _sleeps = make_client(reply(success=False, error=template % TOKEN))
    with pytest.raises(ContactNowError) as info:
        getattr(client, method)(TOKEN)
    assert_no_secret(info.value, TOKEN, PASSWORD)


def test_newpass_error_never_contains_the_new_password_or_token():
    client, _session, _sleeps = make_client(reply(
        success=False, error='Bad argument: password %s too weak for token %s (old %s)' % (NEW_PASSWORD, TOKEN, PASSWORD)))
    with pytest.raises(ApiError) as info:
        client.change_password(TOKEN, NEW_PASSWORD)
    assert_no_secret(info.value, NEW_PASSWORD, TOKEN, PASSWORD)
    assert 'too weak' in str(info.value)


def test_html_page_echoing_the_password_in_its_title_is_scrubbed():
    client, _session, _sleeps = make_client(response('<html><head><title>Login %s rejected</title></head></html>' % PASSWORD),
                                            retries=0)
    with pytest.raises(ReplyError) as info:
        client.get_token(USERNAME, PASSWORD)
    assert_no_secret(info.value, PASSWORD)
    assert 'HTML page' in str(info.value)


def test_transport_error_echoing_the_token_is_scrubbed():
    error = OSError('proxy said: cannot forward token=%s password=%s' % (TOKEN, PASSWORD))
    client, _session, _sleeps = make_client(error, retries=0)
    with pytest.raises(TransportError) as info:
        client.validate(TOKEN)
    assert_no_secret(info.value, TOKEN, PASSWORD)


def test_connection_password_is_scrubbed_from_token_actions_too():
    # validate does not send the password, but a confused server might still know and echo it.
    client, _session, _sleeps = make_client(reply(success=False, error='Invalid token for password %s' % PASSWORD))
    with pytest.raises(ContactNowError) as info:
        client.validate(TOKEN)
    assert_no_secret(info.value, PASSWORD, TOKEN)


# -- the retry policy -----------------------------------------------------------------------------


def test_delays_grow_exponentially_up_to_the_cap():
    policy = RetryPolicy(retries=10, base_delay=1.0, max_delay=30.0, jitter=lambda: 1.0)
    assert [policy.delay(n) for n in range(1, 8)] == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]


@pytest.mark.parametrize('retry_number', range(1, 9))
def test_jitter_stays_between_half_and_all_of_the_step(retry_number):
    ceiling = min(30.0, 1.0 * 2 ** (retry_number - 1))
    low = RetryPolicy(base_delay=1.0, max_delay=30.0, jitter=lambda: 0.0).delay(retry_number)
    high = RetryPolicy(base_delay=1.0, max_delay=30.0, jitter=lambda: 1.0).delay(retry_number)
    assert (low, high) == (ceiling / 2, ceiling)
    policy = RetryPolicy(base_delay=1.0, max_delay=30.0)  # the real random jitter
    for _sample in range(200):
        assert ceiling / 2 <= policy.delay(retry_number) <= ceiling


def test_jitter_spreads_the_delays():
    policy = RetryPolicy(base_delay=1.0, max_delay=30.0)
    assert len(set(policy.delay(3) for _sample in range(50))) > 1


def test_retry_after_is_honoured():
    policy = RetryPolicy(base_delay=1.0, max_delay=30.0, jitter=lambda: 0.0)
    assert policy.delay(1, retry_after=7) == 7.0
    assert policy.delay(5, retry_after=1) == 8.0  # never shorter than the backoff


def test_retry_after_is_capped():
    policy = RetryPolicy(base_delay=1.0, max_delay=30.0, jitter=lambda: 1.0)
    assert policy.delay(1, retry_after=3600) == 30.0


def test_429_retry_after_header_drives_the_sleep():
    client, session, sleeps = make_client(response('Too many', status=429, headers={'Retry-After': '5'}),
                                          reply(success=True, expire=EXPIRE))
    assert client.validate(TOKEN) == EXPIRE
    assert len(session.calls) == 2
    assert sleeps == [5.0]


def test_huge_retry_after_header_is_capped():
    client, _session, sleeps = make_client(response('busy', status=503, headers={'Retry-After': '86400'}),
                                           reply(success=True, expire=EXPIRE))
    client.validate(TOKEN)
    assert sleeps == [30.0]


def test_unparsable_retry_after_header_falls_back_to_backoff():
    client, _session, sleeps = make_client(response('busy', status=503, headers={'Retry-After': 'Wed, 21 Oct 2015 07:28:00 GMT'}),
                                           reply(success=True, expire=EXPIRE), jitter=lambda: 0.0)
    client.validate(TOKEN)
    assert sleeps == [0.5]


TRANSIENT_FAULTS = [
    ('http_500', lambda: response('<html><title>500</title></html>', status=500)),
    ('http_502', lambda: response('Bad gateway', status=502)),
    ('http_503', lambda: response('<html><title>503 Service Unavailable</title></html>', status=503)),
    ('http_429', lambda: response('slow down', status=429)),
    ('refused', refused),
    ('reset', reset),
    ('read_timeout', read_timeout),
    ('connect_timeout', connect_timeout),
    ('html_200', lambda: response('<!DOCTYPE html><html><head><title>Error</title></head></html>')),
    ('garbage_200', lambda: response('Warning: mysqli_connect(): no such file')),
    ('truncated_200', lambda: response('{"success":true,"token":"bd93')),
]

IDEMPOTENT_CALLS = [
    ('get', lambda c: c.get_token(USERNAME, PASSWORD), dict(success=True, token=TOKEN, expire=EXPIRE)),
    ('validate', lambda c: c.validate(TOKEN), dict(success=True, expire=EXPIRE)),
    ('delete', lambda c: c.delete(TOKEN), dict(success=True)),
]


@pytest.mark.parametrize('fault_name, fault', TRANSIENT_FAULTS, ids=[f[0] for f in TRANSIENT_FAULTS])
@pytest.mark.parametrize('action, call, success', IDEMPOTENT_CALLS, ids=[c[0] for c in IDEMPOTENT_CALLS])
def test_idempotent_actions_retry_transient_faults_then_succeed(fault_name, fault, action, call, success):
    client, session, sleeps = make_client(fault(), fault(), reply(**success), retries=3, jitter=lambda: 0.0)
    call(client)
    assert session.actions == [action] * 3
    assert sleeps == [0.5, 1.0]


@pytest.mark.parametrize('fault_name, fault', TRANSIENT_FAULTS, ids=[f[0] for f in TRANSIENT_FAULTS])
@pytest.mark.parametrize('action, call, success', IDEMPOTENT_CALLS, ids=[c[0] for c in IDEMPOTENT_CALLS])
def test_idempotent_actions_give_up_after_retries(fault_name, fault, action, call, success):
    client, session, sleeps = make_client(fault(), retries=2, jitter=lambda: 1.0)
    with pytest.raises((TransportError, ReplyError)) as info:
        call(client)
    assert len(session.calls) == 3  # the first try and 2 retries
    assert sleeps == [1.0, 2.0]
    assert info.value.attempts == 3
    assert str(info.value).startswith('ContactNow %s request to %s failed: ' % (action, HOST))


def test_retries_zero_tries_once():
    client, session, sleeps = make_client(response('busy', status=503), retries=0)
    with pytest.raises(TransportError, match='HTTP 503'):
        client.validate(TOKEN)
    assert len(session.calls) == 1
    assert sleeps == []


def test_retries_count_comes_from_the_options():
    options = ConnectionOptions(api_url=API_URL, retries=5)
    assert ContactNowClient(options, session=FakeSession()).retry_policy.retries == 5


@pytest.mark.parametrize('outcome, error_type, text', [
    (tls_failure, TransportError, 'ca_path'),
    (lambda: response('<html><head><title>404 Not Found</title></head></html>', status=404), TransportError, 'api_url'),
    (lambda: response('<html><head><title>Moved</title></head></html>', status=301, headers={'Location': 'https://x/'}),
     TransportError, 'api_url'),
    (lambda: reply(success=False, error='Authentication failure'), AuthenticationError, 'Authentication failure'),
])
def test_permanent_failures_are_not_retried(outcome, error_type, text):
    client, session, sleeps = make_client(outcome(), retries=3)
    with pytest.raises(error_type, match=text):
        client.get_token(USERNAME, PASSWORD)
    assert len(session.calls) == 1
    assert sleeps == []


def test_tls_failure_says_what_to_do():
    client, _session, _sleeps = make_client(tls_failure())
    with pytest.raises(TransportError) as info:
        client.validate(TOKEN)
    assert 'TLS verification failed' in str(info.value)
    assert 'ca_path' in str(info.value)
    assert info.value.maybe_acted is False


def test_refused_connection_is_one_clear_sentence():
    client, _session, _sleeps = make_client(refused(), retries=0)
    with pytest.raises(TransportError) as info:
        client.validate(TOKEN)
    message = str(info.value)
    assert message.startswith('ContactNow validate request to %s failed: could not connect' % HOST)
    assert 'Connection refused' in message
    assert info.value.maybe_acted is False


def test_delete_after_a_lost_answer_accepts_invalid_token():
    # The first delete worked but its answer was lost; the retry finds the token gone.
    client, session, _sleeps = make_client(reset(), reply(success=False, error='Invalid token'))
    client.delete(TOKEN)
    assert session.actions == ['delete', 'delete']


def test_delete_of_an_invalid_token_on_the_first_try_fails():
    client, _session, _sleeps = make_client(reply(success=False, error='Invalid token'))
    with pytest.raises(InvalidTokenError):
        client.delete(TOKEN)


# -- newpass is not idempotent ---------------------------------------------------------------------


@pytest.mark.parametrize('fault_name, fault', [
    ('reset', reset),
    ('read_timeout', read_timeout),
    ('http_503', lambda: response('busy', status=503)),
    ('http_500', lambda: response('oops', status=500)),
    ('http_429', lambda: response('slow down', status=429, headers={'Retry-After': '1'})),
    ('html_200', lambda: response('<!DOCTYPE html><html><head><title>Error</title></head></html>')),
    ('truncated_200', lambda: response('{"success":tr')),
])
def test_newpass_is_not_retried_once_it_may_have_acted(fault_name, fault):
    client, session, sleeps = make_client(fault(), reply(success=True), retries=3)
    with pytest.raises((TransportError, ReplyError)) as info:
        client.change_password(TOKEN, NEW_PASSWORD)
    assert session.actions == ['newpass']
    assert sleeps == []
    assert getattr(info.value, 'maybe_acted', True) is True
    assert_no_secret(info.value, NEW_PASSWORD, TOKEN, PASSWORD)


@pytest.mark.parametrize('fault', [refused, connect_timeout], ids=['refused', 'connect_timeout'])
def test_newpass_is_retried_when_the_connection_was_never_made(fault):
    client, session, sleeps = make_client(fault(), fault(), reply(success=True), retries=3)
    client.change_password(TOKEN, NEW_PASSWORD)
    assert session.actions == ['newpass'] * 3
    assert len(sleeps) == 2


def test_newpass_never_made_gives_up_after_retries():
    client, session, _sleeps = make_client(refused(), retries=1)
    with pytest.raises(TransportError) as info:
        client.change_password(TOKEN, NEW_PASSWORD)
    assert len(session.calls) == 2
    assert info.value.maybe_acted is False


def test_newpass_tls_failure_is_known_not_to_have_acted():
    client, session, _sleeps = make_client(tls_failure())
    with pytest.raises(TransportError) as info:
        client.change_password(TOKEN, NEW_PASSWORD)
    assert info.value.maybe_acted is False
    assert len(session.calls) == 1


# -- the standard library's failures, in words --------------------------------------------------------


@pytest.mark.parametrize('error, never_sent, text', [
    (ConnectionRefusedError(111, 'Connection refused'), True, 'could not connect (Connection refused)'),
    (socket.gaierror(-2, 'Name or service not known'), True,
     'could not connect (the host name could not be resolved (Name or service not known))'),
    (socket.timeout('timed out'), True, 'could not connect within 30 seconds (timeout)'),
    (TimeoutError('timed out'), True, 'could not connect within 30 seconds (timeout)'),
    (OSError(101, 'Network is unreachable'), True, 'could not connect ([Errno 101] Network is unreachable)'),
    (OSError('Tunnel connection failed: 407 Proxy Authentication Required'), True,
     'could not connect (Tunnel connection failed: 407 Proxy Authentication Required)'),
    (http.client.InvalidURL("nonnumeric port: 'x'"), True, "the request could not be sent (nonnumeric port: 'x'); check api_url"),
    (ValueError('Port out of range 0-65535'), True, 'the request could not be sent (Port out of range 0-65535); check api_url'),
    (ssl.SSLError(1, '[SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:1006)'), True, 'the TLS handshake failed'),
    (http.client.RemoteDisconnected('Remote end closed connection without response'), False,
     'the connection broke after the request was sent (the server closed the connection without answering)'),
    (http.client.IncompleteRead(b'{"su', 20), False,
     'the connection broke after the request was sent (the connection closed before the whole answer arrived)'),
    (http.client.BadStatusLine('SSH-2.0'), False, 'the connection broke after the request was sent (the answer is not HTTP)'),
    (http.client.LineTooLong('header line'), False,
     'the connection broke after the request was sent (the answer has an overlong header line)'),
    (ConnectionResetError(104, 'Connection reset by peer'), False,
     'the connection broke after the request was sent (the connection was reset)'),
    (BrokenPipeError(32, 'Broken pipe'), False,
     'the connection broke after the request was sent (the connection was closed while the request was being sent)'),
    (socket.timeout('timed out'), False, 'no complete answer within 30 seconds (timeout)'),
    (ssl.SSLError(1, '[SSL: DECRYPTION_FAILED_OR_BAD_RECORD_MAC] bad record mac'), False,
     'the connection broke after the request was sent ([SSL: DECRYPTION_FAILED_OR_BAD_RECORD_MAC] bad record mac)'),
])
def test_stdlib_failures_become_one_plain_sentence(error, never_sent, text):
    client, _session, _sleeps = make_client(NeverSent(error) if never_sent else error, retries=0)
    with pytest.raises(TransportError) as info:
        client.validate(TOKEN)
    message = str(info.value)
    assert message.startswith('ContactNow validate request to %s failed: %s' % (HOST, text))
    assert info.value.maybe_acted is not never_sent
    assert '\n' not in message and 'Traceback' not in message


# -- the shapes of real transport failures --------------------------------------------------------


def _closed_port():
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(('127.0.0.1', 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def test_real_refused_connection_is_known_never_made():
    options = ConnectionOptions(api_url='http://127.0.0.1:%d' % _closed_port(), retries=0, timeout=5)
    client = ContactNowClient(options, retry_policy=RetryPolicy(0, sleep=Sleeps()))
    with pytest.raises(TransportError) as info:
        client.change_password(TOKEN, NEW_PASSWORD)
    assert info.value.maybe_acted is False
    assert 'could not connect' in str(info.value)
    assert 'object at 0x' not in str(info.value)


def reset_after_the_request(server, conn):
    """Read the whole request, then reset the connection (SO_LINGER 0) without answering."""
    server.take_request(conn)
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))


def test_real_reset_after_the_request_may_have_acted():
    with LocalServer(reset_after_the_request) as server:
        with pytest.raises(TransportError) as info:
            real_client(server.url, retries=3).change_password(TOKEN, NEW_PASSWORD)
    assert len(server.requests) == 1
    assert info.value.maybe_acted is True
    assert info.value.attempts == 1
    assert 'the connection broke' in str(info.value)


# -- "never sent" is a fact: real connections, plain and TLS -----------------------------------------

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'fixtures')
CERT = os.path.join(FIXTURES, 'localhost-cert.pem')  # self-signed for 127.0.0.1, test use only
KEY = os.path.join(FIXTURES, 'localhost-key.pem')


def read_request(conn):
    """Read one HTTP request (headers and a Content-Length body) from ``conn``; b'' when none came."""
    data = b''
    while b'\r\n\r\n' not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, body = data.split(b'\r\n\r\n', 1)
    length = 0
    for line in head.split(b'\r\n')[1:]:
        name, _sep, value = line.partition(b':')
        if name.strip().lower() == b'content-length':
            length = int(value.strip())
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b'\r\n\r\n' + body


class _Listener:
    """A listening socket on 127.0.0.1 served by a thread, for ``with``: every accept and socket
    operation has a timeout, and the thread is joined on exit, so nothing hangs."""

    def __init__(self, connections=1, host='127.0.0.1'):
        self.connections = connections
        self.host = host
        self.listener = socket.socket(socket.AF_INET6 if ':' in host else socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind((host, 0))
        self.port = self.listener.getsockname()[1]
        self.listener.listen(8)
        self.listener.settimeout(10)
        self.thread = threading.Thread(target=self._serve)
        self.thread.daemon = True

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc_info):
        getattr(self, 'stop', threading.Event()).set()
        self.listener.close()
        self.thread.join(10)

    def _serve(self):
        raise NotImplementedError


class LocalServer(_Listener):
    """A server that runs ``handler(server, conn)`` for up to ``connections`` clients.

    With ``tls``, connections are wrapped with the fixture certificate first; a failed handshake
    is recorded in ``errors``.
    """

    def __init__(self, handler, tls=False, connections=1, host='127.0.0.1'):
        super(LocalServer, self).__init__(connections, host)
        self.handler = handler
        self.tls = tls
        self.requests = []
        self.errors = []
        self.stop = threading.Event()

    @property
    def url(self):
        host = '[%s]' % self.host if ':' in self.host else self.host
        return '%s://%s:%d' % ('https' if self.tls else 'http', host, self.port)

    def _serve(self):
        context = None
        if self.tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(CERT, KEY)
        for _connection in range(self.connections):
            try:
                conn, _address = self.listener.accept()
            except OSError:
                return
            conn.settimeout(10)
            try:
                if context is not None:
                    conn = context.wrap_socket(conn, server_side=True)
                self.handler(self, conn)
            except (OSError, ssl.SSLError) as exc:
                self.errors.append(exc)
            finally:
                conn.close()

    def take_request(self, conn):
        request = read_request(conn)
        if request:
            self.requests.append(request)
        return request


def answer_json(server, conn):
    server.take_request(conn)
    body = json.dumps(dict(success=True, token=TOKEN, expire=EXPIRE)).encode('utf-8')
    conn.sendall(b'HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s'
                 % (len(body), body))


def garbage_tls_record_after_the_request(server, conn):
    """Read the whole request, then break the TLS stream: a record the client cannot decrypt."""
    server.take_request(conn)
    os.write(conn.fileno(), b'\x17\x03\x03\x00\x20' + b'\x5a' * 32)  # under the TLS layer, on the raw socket


def plain_http_on_the_tls_port(server, conn):
    conn.recv(65536)  # the ClientHello
    conn.sendall(b'HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n')


def real_client(url, retries=0, **settings):
    settings.setdefault('timeout', 5)
    options = ConnectionOptions(api_url=url, username=USERNAME, password=PASSWORD, retries=retries, **settings)
    return ContactNowClient(options, retry_policy=RetryPolicy(retries, sleep=Sleeps()))


def test_real_tls_server_with_its_ca_works():
    # The TLS tests below fail for the reason they name, not because the fixture server is broken.
    with LocalServer(answer_json, tls=True) as server:
        assert real_client(server.url, ca_path=CERT).get_token(USERNAME, PASSWORD) == Token(TOKEN, EXPIRE)
    (request,) = server.requests
    assert request.startswith(b'POST /token.php HTTP/1.1\r\n')
    assert b'content-type: application/x-www-form-urlencoded\r\n' in request.lower()
    fields = parse_qs(request.split(b'\r\n\r\n', 1)[1].decode('ascii'))
    assert fields == {'action': ['get'], 'format': ['json'], 'username': [USERNAME], 'password': [PASSWORD]}


def test_real_tls_error_after_the_request_was_read_may_have_acted():
    with LocalServer(garbage_tls_record_after_the_request, tls=True) as server:
        with pytest.raises(TransportError) as info:
            real_client(server.url, retries=3, ca_path=CERT).change_password(TOKEN, NEW_PASSWORD)
    assert len(server.requests) == 1  # the server did receive newpass ...
    assert info.value.maybe_acted is True  # ... so it must not be reported as never sent
    assert info.value.attempts == 1  # and it is never resent
    assert 'after the request was sent' in str(info.value)
    assert_no_secret(info.value, NEW_PASSWORD, TOKEN, PASSWORD)


def test_real_tls_error_after_the_request_is_retried_for_idempotent_actions():
    handlers = [garbage_tls_record_after_the_request, answer_json]

    def handler(server, conn):
        handlers.pop(0)(server, conn)

    with LocalServer(handler, tls=True, connections=2) as server:
        client = real_client(server.url, retries=1, ca_path=CERT)
        assert client.get_token(USERNAME, PASSWORD) == Token(TOKEN, EXPIRE)
    assert len(server.requests) == 2


def test_real_untrusted_certificate_is_never_sent():
    # No ca_path: the system store does not trust the fixture certificate.
    with LocalServer(answer_json, tls=True) as server:
        with pytest.raises(TransportError) as info:
            real_client(server.url, retries=3).change_password(TOKEN, NEW_PASSWORD)
    assert server.requests == []
    assert info.value.maybe_acted is False
    assert info.value.attempts == 1  # a certificate problem does not go away by retrying
    message = str(info.value)
    assert 'TLS verification failed' in message and 'ca_path' in message
    assert '\n' not in message and 'object at 0x' not in message


def test_real_plain_http_on_a_tls_url_is_never_sent():
    with LocalServer(plain_http_on_the_tls_port) as server:
        url = server.url.replace('http://', 'https://')
        with pytest.raises(TransportError) as info:
            real_client(url).change_password(TOKEN, NEW_PASSWORD)
    assert info.value.maybe_acted is False
    assert 'TLS handshake failed' in str(info.value)
    assert 'ca_path' not in str(info.value)  # not a certificate problem: do not send the user there


def test_real_refused_newpass_is_retried_because_it_was_never_sent():
    client = real_client('http://127.0.0.1:%d' % _closed_port(), retries=2)
    with pytest.raises(TransportError) as info:
        client.change_password(TOKEN, NEW_PASSWORD)
    assert info.value.maybe_acted is False
    assert info.value.attempts == 3


def test_unexpected_exception_after_the_body_was_read_may_have_acted():
    client, _session, sleeps = make_client(KeyError('surprise'), retries=3)
    with pytest.raises(TransportError) as info:
        client.change_password(TOKEN, NEW_PASSWORD)
    assert info.value.maybe_acted is True
    assert info.value.attempts == 1 and sleeps == []
    assert 'KeyError' in str(info.value)


def test_unexpected_exception_before_the_body_was_read_was_never_sent():
    client, _session, _sleeps = make_client(NeverSent(KeyError('surprise')), retries=3)
    with pytest.raises(TransportError) as info:
        client.change_password(TOKEN, NEW_PASSWORD)
    assert info.value.maybe_acted is False


def test_tls_error_after_the_body_was_read_may_have_acted():
    error = ssl.SSLError(1, '[SSL: DECRYPTION_FAILED_OR_BAD_RECORD_MAC] bad record mac')
    client, session, _sleeps = make_client(error, retries=3)
    with pytest.raises(TransportError) as info:
        client.change_password(TOKEN, NEW_PASSWORD)
    assert info.value.maybe_acted is True
    assert session.actions == ['newpass']


@pytest.mark.parametrize('query, raw_body, content_type, sent', [
    (None, None, 'application/x-www-form-urlencoded', None),
    ({'method': 'campaigns'}, None, 'application/x-www-form-urlencoded', None),
    (None, b'{"a": 1}', 'application/json', b'{"a": 1}'),
    (None, (b'<x/>', 'text/xml'), 'text/xml', b'<x/>'),
])
def test_call_takes_another_url_a_query_and_a_raw_body(query, raw_body, content_type, sent):
    client, session, _sleeps = make_client(reply(success=True))
    client._call('read', {'token': TOKEN}, secrets=(TOKEN,), url=API_URL + '/ecnow.php', query=query, raw_body=raw_body)
    (call,) = session.calls
    assert call['url'] == API_URL + '/ecnow.php'
    assert call['params'] == query
    assert call['headers']['Content-Type'] == content_type
    if sent is None:
        assert call['data'] == {'action': 'read', 'format': 'json', 'token': TOKEN}
    else:
        assert call['body'] == sent


# -- bounded answers, one deadline per attempt, only HTTP 200 --------------------------------------


def wait_for(predicate, seconds):
    """Whether ``predicate()`` became true within ``seconds`` (polled)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return bool(predicate())


def send_head(conn, status=200, length=None, extra=b''):
    head = b'HTTP/1.1 %d X\r\nContent-Type: text/html\r\nConnection: close\r\n' % status
    if length is not None:
        head += b'Content-Length: %d\r\n' % length
    conn.sendall(head + extra + b'\r\n')


def answer(status=200, body=None, extra=b''):
    body = json.dumps(dict(success=True, token=TOKEN, expire=EXPIRE)).encode('utf-8') if body is None else body

    def handler(server, conn):
        server.take_request(conn)
        send_head(conn, status, len(body), extra)
        conn.sendall(body)
    return handler


def trickle(head_first):
    """Answer one byte every 0.2 s (the headers too, unless ``head_first``), until the test sets
    ``server.stop`` or for at most 10 s."""
    def handler(server, conn):
        server.take_request(conn)
        body = json.dumps(dict(success=True, token=TOKEN, expire=EXPIRE)).encode('utf-8')
        data = body
        if head_first:
            send_head(conn, 200, len(body))
        else:
            data = b'HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s' % (len(body), body)
        server.cut_off = False
        server.total = len(data)
        server.head_end = data.index(b'\r\n\r\n') if not head_first else 0
        for index in range(len(data)):
            server.sent = index
            if server.stop.is_set():
                return  # the test is over: hang up
            try:
                conn.sendall(data[index:index + 1])
            except OSError:
                server.cut_off = True  # the client hung up before the answer was complete
                return
            time.sleep(0.2)
    return handler


@pytest.mark.parametrize('head_first', [True, False], ids=['body_trickles', 'headers_trickle'])
def test_real_trickling_answer_fails_at_the_deadline_with_a_clean_message(head_first):
    # Each byte comes well within the 1 s socket timeout: only the per-attempt deadline can stop this.
    with LocalServer(trickle(head_first)) as server:
        client = real_client(server.url, timeout=1)
        started = time.monotonic()
        with pytest.raises(TransportError) as info:
            client.validate(TOKEN)
        elapsed = time.monotonic() - started
        sent = server.sent
        # An answer already streaming is cut at once: the client hangs up.
        hung_up = wait_for(lambda: getattr(server, 'cut_off', False), 3) if head_first else None
    assert str(info.value).endswith('failed: no complete answer within 1 seconds (timeout)')
    assert 'IncompleteRead' not in str(info.value)
    assert elapsed < 1.8
    # Stopped by the deadline long before the answer was complete, and while the headers trickled.
    assert sent < (server.head_end or server.total // 2)
    assert info.value.maybe_acted is True
    assert hung_up in (True, None)


def silent(server, conn):
    """Read the request, then say nothing until the test ends."""
    server.take_request(conn)
    server.stop.wait(10)


@pytest.mark.parametrize('tls', [False, True], ids=['http', 'https'])
def test_real_silent_server_fails_at_the_deadline_and_newpass_is_not_resent(tls):
    with LocalServer(silent, tls=tls) as server:  # a resent newpass would be refused, and counted
        client = real_client(server.url, retries=3, timeout=1, ca_path=CERT if tls else None)
        started = time.monotonic()
        with pytest.raises(TransportError) as info:
            client.change_password(TOKEN, NEW_PASSWORD)
        elapsed = time.monotonic() - started
    assert str(info.value).endswith('failed: no complete answer within 1 seconds (timeout)')
    assert elapsed < 1.8
    assert info.value.maybe_acted is True and info.value.attempts == 1
    assert len(server.requests) == 1


def test_real_trickling_newpass_is_not_resent():
    with LocalServer(trickle(True), connections=2) as server:
        with pytest.raises(TransportError) as info:
            real_client(server.url, retries=3, timeout=1).change_password(TOKEN, NEW_PASSWORD)
    assert info.value.maybe_acted is True
    assert len(server.requests) == 1


def test_real_oversized_answer_is_refused_after_64_kib():
    body = b'{"success":true,"token":"' + b'x' * (1024 * 1024) + b'"}'
    with LocalServer(answer(body=body)) as server:
        with pytest.raises(ReplyError) as info:
            real_client(server.url).get_token(USERNAME, PASSWORD)
    assert 'the answer is too large (more than 64 KiB' in str(info.value)


def test_real_answer_just_under_the_limit_is_read_whole():
    body = json.dumps(dict(success=True, token=TOKEN, expire=EXPIRE, padding='p' * (60 * 1024))).encode('utf-8')
    with LocalServer(answer(body=body)) as server:
        assert real_client(server.url).get_token(USERNAME, PASSWORD) == Token(TOKEN, EXPIRE)


def test_oversized_preloaded_answer_is_refused():
    client, _session, _sleeps = make_client(response(b'<html>' + b'x' * (65 * 1024)), retries=0)
    with pytest.raises(ReplyError, match='too large'):
        client.validate(TOKEN)


def cut_short(server, conn):
    server.take_request(conn)
    send_head(conn, 200, 200)
    conn.sendall(b'{"success":true,"tok')


def test_real_answer_cut_short_is_retried_for_validate():
    handlers = [cut_short, answer(body=json.dumps(dict(success=True, expire=EXPIRE)).encode('utf-8'))]

    def handler(server, conn):
        handlers.pop(0)(server, conn)

    with LocalServer(handler, connections=2) as server:
        assert real_client(server.url, retries=1).validate(TOKEN) == EXPIRE
    assert len(server.requests) == 2


def test_real_answer_cut_short_is_one_clean_sentence():
    with LocalServer(cut_short) as server:
        with pytest.raises(TransportError) as info:
            real_client(server.url).change_password(TOKEN, NEW_PASSWORD)
    assert info.value.maybe_acted is True
    assert str(info.value).endswith(
        'the connection broke after the request was sent (the connection closed before the whole answer arrived)')


@pytest.mark.parametrize('status, hint', [
    (301, 'a redirect'), (302, 'a redirect'), (401, 'proxy'), (403, 'proxy'), (404, 'no token.php there'),
    (400, 'rewrites'), (418, 'rewrites'), (204, 'rewrites'),
])
def test_real_success_body_with_another_status_is_not_an_api_reply(status, hint):
    extra = b'Location: https://elsewhere.example/\r\n' if status in (301, 302) else b''
    body = b'' if status == 204 else None
    with LocalServer(answer(status, body=body, extra=extra)) as server:
        with pytest.raises(TransportError) as info:
            real_client(server.url, retries=3).get_token(USERNAME, PASSWORD)
    assert 'the server answered HTTP %d, not 200: ' % status in str(info.value)
    assert hint in str(info.value)
    assert len(server.requests) == 1  # not transient: retrying cannot help


@pytest.mark.parametrize('status', [429, 500, 502, 503])
def test_real_busy_status_with_a_success_body_is_retried(status):
    handlers = [answer(status, extra=b'Retry-After: 0\r\n'), answer()]

    def handler(server, conn):
        handlers.pop(0)(server, conn)

    with LocalServer(handler, connections=2) as server:
        assert real_client(server.url, retries=1).get_token(USERNAME, PASSWORD) == Token(TOKEN, EXPIRE)
    assert len(server.requests) == 2


def test_real_request_asks_for_an_uncompressed_answer_on_a_fresh_connection():
    with LocalServer(answer()) as server:
        real_client(server.url).get_token(USERNAME, PASSWORD)
    (request,) = server.requests
    assert b'\r\nAccept-Encoding: identity\r\n' in request
    assert b'\r\nConnection: close\r\n' in request


def test_real_query_goes_in_the_url_and_never_a_secret():
    with LocalServer(answer()) as server:
        client = real_client(server.url)
        client._call('read', {'token': TOKEN}, secrets=(TOKEN,), url=server.url + '/ecnow.php', query={'method': 'agents'})
    (request,) = server.requests
    assert request.startswith(b'POST /ecnow.php?method=agents HTTP/1.1\r\n')
    assert TOKEN.encode('ascii') not in request.split(b'\r\n\r\n')[0]


# -- no escapes: whatever goes wrong inside a request is one of ours ------------------------------


@pytest.mark.parametrize('error', [
    RuntimeError('bug'), AttributeError('x'), UnicodeDecodeError('utf-8', b'\xff', 0, 1, 'bad'), MemoryError(),
    http.client.IncompleteRead(b'{"succ', 40), http.client.BadStatusLine('SSH-2.0-OpenSSH'),
    http.client.LineTooLong('header line'), http.client.RemoteDisconnected('Remote end closed connection without response'),
    ConnectionResetError(104, 'reset'), BrokenPipeError(32, 'Broken pipe'), http.client.HTTPException('odd'),
])
@pytest.mark.parametrize('method, args', [('validate', (TOKEN,)), ('change_password', (TOKEN, NEW_PASSWORD))])
def test_any_exception_inside_a_request_becomes_one_of_ours(error, method, args):
    client, _session, _sleeps = make_client(error, retries=0)
    with pytest.raises(ContactNowError) as info:
        getattr(client, method)(*args)
    assert '\n' not in str(info.value)
    assert getattr(info.value, 'maybe_acted', True) is True


def test_decoder_crash_becomes_a_reply_error(monkeypatch):
    from ansible_collections.eightbyeight.contactnow.plugins.module_utils import _client

    def crash(_body):
        raise RecursionError('maximum recursion depth exceeded')
    monkeypatch.setattr(_client, 'decode_reply', crash)
    client, _session, _sleeps = make_client(reply(success=True), retries=0)
    with pytest.raises(ReplyError, match=r'could not be decoded \(RecursionError\)'):
        client.validate(TOKEN)


@pytest.mark.parametrize('echo', [
    lambda: 'Authentication failure for %s' % PASSWORD.upper(),
    lambda: 'Bad argument: password=%s' % quote(PASSWORD, safe='').lower(),
    lambda: 'Bad argument: password=%s' % PASSWORD.replace('&', '&amp;'),
    lambda: 'Bad argument: password=%s' % PASSWORD.replace('&', '&#38;').replace('/', '&#x2F;'),
])
def test_case_changed_and_html_escaped_echoes_are_scrubbed(echo):
    client, _session, _sleeps = make_client(reply(success=False, error=echo()))
    with pytest.raises(ContactNowError) as info:
        client.get_token(USERNAME, PASSWORD)
    text = str(info.value).lower()
    for form in (PASSWORD, quote(PASSWORD, safe=''), quote_plus(PASSWORD), PASSWORD.replace('&', '&amp;')):
        assert form.lower() not in text


def test_html_title_echoing_an_escaped_password_is_scrubbed():
    page = '<html><head><title>No %s</title></head></html>' % PASSWORD.replace('&', '&amp;')
    client, _session, _sleeps = make_client(response(page), retries=0)
    with pytest.raises(ReplyError) as info:
        client.get_token(USERNAME, PASSWORD)
    assert 'x=y' not in str(info.value) and 'S3cr3t' not in str(info.value)


def test_real_trickling_tls_answer_fails_at_the_deadline():
    with LocalServer(trickle(True), tls=True) as server:
        with pytest.raises(TransportError, match=r'no complete answer within 1 seconds \(timeout\)$'):
            real_client(server.url, timeout=1, ca_path=CERT).validate(TOKEN)
        assert wait_for(lambda: getattr(server, 'cut_off', False), 3)


def test_real_deadline_holds_through_a_proxy(monkeypatch):
    # The LocalServer plays an HTTP proxy (it gets the absolute URL) that trickles the answer.
    with LocalServer(trickle(False)) as proxy:  # the headers trickle: no socket timeout can stop that
        for name in ('NO_PROXY', 'no_proxy', 'http_proxy'):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv('HTTP_PROXY', proxy.url)
        client = real_client('http://api.example.test', timeout=1, allow_insecure_http=True)
        with pytest.raises(TransportError, match=r'no complete answer within 1 seconds \(timeout\)$'):
            client.validate(TOKEN)
        sent = proxy.sent
    (request,) = proxy.requests
    assert request.startswith(b'POST http://api.example.test/token.php HTTP/1.1\r\n')
    assert sent < proxy.head_end  # given up on by the deadline while the headers were still trickling


# -- proxies from the environment ------------------------------------------------------------------

PROXY_VARIABLES = ('HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy', 'ALL_PROXY', 'all_proxy', 'NO_PROXY', 'no_proxy')
PROXY_PASSWORD = 'pr0xy:p@ss/word'


@pytest.fixture
def proxy_env(monkeypatch):
    """A clean proxy environment; returns a function that sets variables."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)

    def setenv(**variables):
        for name, value in variables.items():
            monkeypatch.setenv(name, value)
    return setenv


class ConnectProxy(_Listener):
    """An HTTP CONNECT proxy on 127.0.0.1 for ``connections`` clients, one after the other.

    It records the CONNECT request's head; then answers ``status`` and, for 200 with an
    ``upstream`` port, relays the tunnel to 127.0.0.1:upstream (whatever host was asked for) until
    either side closes.
    """

    def __init__(self, status=200, upstream=None, connections=1):
        super(ConnectProxy, self).__init__(connections)
        self.status = status
        self.upstream = upstream
        self.heads = []

    def header(self, name):
        for line in self.heads[0].split(b'\r\n')[1:]:
            key, _sep, value = line.partition(b':')
            if key.strip().lower() == name.lower().encode('ascii'):
                return value.strip().decode('ascii')
        return None

    def _serve(self):
        for _connection in range(self.connections):
            try:
                conn, _address = self.listener.accept()
            except OSError:
                return
            self._handle(conn)

    def _handle(self, conn):
        conn.settimeout(10)
        try:
            head = read_request(conn)  # a CONNECT request has no body
            if not head:
                return
            self.heads.append(head.split(b'\r\n\r\n', 1)[0])
            if self.status != 200:
                conn.sendall(b'HTTP/1.1 %d Nope\r\nContent-Length: 0\r\n\r\n' % self.status)
                return
            conn.sendall(b'HTTP/1.1 200 Connection established\r\n\r\n')
            if self.upstream is not None:
                self._relay(conn)
        except OSError:
            pass
        finally:
            conn.close()

    def _relay(self, conn):
        upstream = socket.create_connection(('127.0.0.1', self.upstream), timeout=10)
        try:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                readable, _w, _x = select.select([conn, upstream], [], [], 0.5)
                for sock in readable:
                    data = sock.recv(65536)
                    if not data:
                        return
                    (upstream if sock is conn else conn).sendall(data)
        finally:
            upstream.close()


def test_real_https_goes_through_a_connect_tunnel_with_proxy_credentials(proxy_env):
    with LocalServer(answer_json, tls=True) as server:
        with ConnectProxy(upstream=int(server.url.rsplit(':', 1)[1])) as proxy:
            proxy_env(HTTPS_PROXY='http://%s:%s@127.0.0.1:%d' % ('proxyuser', quote(PROXY_PASSWORD, safe=''), proxy.port))
            # The fixture certificate is for 127.0.0.1, not api.example.test: this test is about the tunnel.
            client = real_client('https://api.example.test:8443', validate_certs=False)
            assert client.get_token(USERNAME, PASSWORD) == Token(TOKEN, EXPIRE)
    connect_line = proxy.heads[0].split(b'\r\n')[0]
    assert connect_line in (b'CONNECT api.example.test:8443 HTTP/1.1', b'CONNECT api.example.test:8443 HTTP/1.0')  # 1.0: Python < 3.12
    expected = base64.b64encode(('proxyuser:%s' % PROXY_PASSWORD).encode('utf-8')).decode('ascii')
    assert proxy.header('Proxy-Authorization') == 'Basic %s' % expected
    (request,) = server.requests
    assert request.startswith(b'POST /token.php HTTP/1.1\r\n')
    assert b'\r\nHost: api.example.test:8443\r\n' in request
    assert b'Proxy-Authorization' not in request  # for the proxy only, never inside the tunnel


def test_real_tunnel_checks_the_api_host_name_not_the_proxys(proxy_env):
    with LocalServer(answer_json, tls=True) as server:
        with ConnectProxy(upstream=int(server.url.rsplit(':', 1)[1])) as proxy:
            proxy_env(https_proxy='127.0.0.1:%d' % proxy.port)  # no scheme: http:// as requests assumed
            with pytest.raises(TransportError) as info:
                real_client('https://api.example.test', ca_path=CERT).validate(TOKEN)
    assert proxy.header('Proxy-Authorization') is None
    assert 'TLS verification failed' in str(info.value)
    assert info.value.maybe_acted is False
    assert server.requests == []


def test_real_proxy_refusing_the_tunnel_is_never_sent_and_hides_its_password(proxy_env):
    with ConnectProxy(status=407, connections=2) as proxy:
        proxy_env(ALL_PROXY='http://proxyuser:%s@127.0.0.1:%d' % (quote(PROXY_PASSWORD, safe=''), proxy.port))
        with pytest.raises(TransportError) as info:
            real_client('https://api.example.test', retries=1).change_password(TOKEN, NEW_PASSWORD)
    assert info.value.maybe_acted is False
    assert info.value.attempts == 2  # never sent: even newpass may be tried again
    assert 'could not connect (Tunnel connection failed: 407' in str(info.value)
    assert_no_secret(info.value, PROXY_PASSWORD, NEW_PASSWORD, TOKEN, PASSWORD)


def test_real_proxy_that_drops_the_tunnel_is_never_sent(proxy_env):
    with ConnectProxy() as proxy:  # answers 200, then closes before any TLS
        proxy_env(HTTPS_PROXY='http://127.0.0.1:%d' % proxy.port)
        with pytest.raises(TransportError) as info:
            real_client('https://api.example.test').change_password(TOKEN, NEW_PASSWORD)
    connect_line = proxy.heads[0].split(b'\r\n')[0]
    assert connect_line in (b'CONNECT api.example.test:443 HTTP/1.1', b'CONNECT api.example.test:443 HTTP/1.0')  # 1.0: Python < 3.12
    assert info.value.maybe_acted is False


def test_real_plain_http_proxy_gets_the_absolute_url_and_credentials(proxy_env):
    with LocalServer(answer_json) as proxy:
        proxy_env(HTTP_PROXY='http://proxyuser:%s@%s' % (quote(PROXY_PASSWORD, safe=''), proxy.url.split('://', 1)[1]))
        client = real_client('http://api.example.test', allow_insecure_http=True)
        assert client.get_token(USERNAME, PASSWORD) == Token(TOKEN, EXPIRE)
    (request,) = proxy.requests
    assert request.startswith(b'POST http://api.example.test/token.php HTTP/1.1\r\n')
    expected = base64.b64encode(('proxyuser:%s' % PROXY_PASSWORD).encode('utf-8'))
    assert b'\r\nProxy-Authorization: Basic %s\r\n' % expected in request


def test_real_proxy_error_echoing_its_url_hides_the_password(proxy_env):
    proxy_url = 'http://proxyuser:%s@proxy.test:3128' % quote(PROXY_PASSWORD, safe='')
    proxy_env(HTTPS_PROXY=proxy_url)
    error = requests.exceptions.ProxyError('Cannot connect to proxy %s: refused (%s)' % (proxy_url, PROXY_PASSWORD))
    client, _session, _sleeps = make_client(NeverSent(error), retries=0)
    with pytest.raises(TransportError) as info:
        client.validate(TOKEN)
    assert info.value.maybe_acted is False
    assert_no_secret(info.value, PROXY_PASSWORD)


@pytest.mark.parametrize('no_proxy', ['127.0.0.1', '127.0.0.0/8', 'other.test, 127.0.0.1'])
def test_real_no_proxy_hosts_go_direct(proxy_env, no_proxy):
    with LocalServer(answer_json) as server:
        with ConnectProxy(connections=0) as proxy:  # never answers: a request sent there would time out
            proxy_env(HTTP_PROXY='http://127.0.0.1:%d' % proxy.port, NO_PROXY=no_proxy)
            assert real_client(server.url, timeout=2).get_token(USERNAME, PASSWORD) == Token(TOKEN, EXPIRE)
    assert len(server.requests) == 1


# -- CA bundles as requests reads them ---------------------------------------------------------------


def test_real_private_ca_from_requests_ca_bundle(monkeypatch):
    monkeypatch.setenv('REQUESTS_CA_BUNDLE', CERT)
    with LocalServer(answer_json, tls=True) as server:
        assert real_client(server.url).get_token(USERNAME, PASSWORD) == Token(TOKEN, EXPIRE)


def test_real_ca_path_wins_over_requests_ca_bundle(monkeypatch, tmp_path):
    other = tmp_path / 'other-ca.pem'
    other.write_bytes(open(requests.certs.where(), 'rb').read())  # a bundle that does not hold the fixture CA
    monkeypatch.setenv('REQUESTS_CA_BUNDLE', CERT)
    with LocalServer(answer_json, tls=True) as server:
        with pytest.raises(TransportError, match='TLS verification failed'):
            real_client(server.url, ca_path=str(other)).validate(TOKEN)


def test_real_unhashed_ca_directory_says_to_rehash_it(tmp_path):
    (tmp_path / 'private-ca.pem').write_bytes(open(CERT, 'rb').read())
    with LocalServer(answer_json, tls=True) as server:
        with pytest.raises(TransportError) as info:
            real_client(server.url, ca_path=str(tmp_path)).validate(TOKEN)
    message = str(info.value)
    assert 'TLS verification failed' in message
    assert 'ca_path is a directory' in message and 'openssl rehash' in message
    assert info.value.maybe_acted is False


# -- the deadline covers name resolution and connecting too ----------------------------------------


@pytest.fixture
def resolver(monkeypatch):
    """A resolver stub: ``resolver[name] = (seconds, addresses)`` answers ``name`` after ``seconds``
    (None: never, until the test ends) with ``addresses`` (IPv4 loopback ones); others resolve as usual."""
    real_getaddrinfo = socket.getaddrinfo
    names = {}
    released = threading.Event()

    def getaddrinfo(host, port, *args, **kwargs):
        if host not in names:
            return real_getaddrinfo(host, port, *args, **kwargs)
        seconds, addresses = names[host]
        released.wait(seconds if seconds is not None else 30)
        if not addresses:
            raise socket.gaierror(socket.EAI_NONAME, 'Name or service not known')
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, '', (address, port)) for address in addresses]

    monkeypatch.setattr(socket, 'getaddrinfo', getaddrinfo)
    yield names
    released.set()


def test_real_name_that_never_resolves_fails_within_the_timeout(resolver):
    resolver['never.resolves.test'] = (None, [])
    client = real_client('https://never.resolves.test', timeout=1)
    started = time.monotonic()
    with pytest.raises(TransportError) as info:
        client.change_password(TOKEN, NEW_PASSWORD)
    assert time.monotonic() - started < 1.8
    assert str(info.value).endswith('failed: could not connect within 1 seconds (timeout)')
    assert info.value.maybe_acted is False


class Blackhole:
    """A loopback port whose accept queue is full, so that new connections hang like packets dropped."""

    def __enter__(self):
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind(('127.0.0.1', 0))
        self.listener.listen(0)
        self.port = self.listener.getsockname()[1]
        self.fillers = []
        for _filler in range(4):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setblocking(False)
            sock.connect_ex(('127.0.0.1', self.port))
            self.fillers.append(sock)
        time.sleep(0.2)
        return self

    def __exit__(self, *exc_info):
        for sock in self.fillers + [self.listener]:
            sock.close()


def test_real_name_with_three_unreachable_addresses_fails_within_the_timeout(resolver):
    with Blackhole() as hole:
        probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        probe.settimeout(0.5)
        try:
            if probe.connect_ex(('127.0.0.1', hole.port)) == 0:
                pytest.skip('this kernel accepts connections beyond a full accept queue')
        except socket.timeout:
            pass
        finally:
            probe.close()
        resolver['three.unreachable.test'] = (0, ['127.0.0.1', '127.0.0.1', '127.0.0.1'])
        client = real_client('https://three.unreachable.test:%d' % hole.port, timeout=1)
        started = time.monotonic()
        with pytest.raises(TransportError) as info:
            client.validate(TOKEN)
        elapsed = time.monotonic() - started
    assert elapsed < 1.8  # not 1 s per address
    assert str(info.value).endswith('failed: could not connect within 1 seconds (timeout)')
    assert info.value.maybe_acted is False


def test_real_unroutable_address_fails_within_the_timeout():
    started = time.monotonic()
    with pytest.raises(TransportError) as info:
        real_client('https://10.255.255.1', timeout=1).change_password(TOKEN, NEW_PASSWORD)
    assert time.monotonic() - started < 1.8  # dropped (a timeout) or no route (at once): never longer
    assert info.value.maybe_acted is False


def test_real_body_sealed_at_the_deadline_is_never_sent_later(resolver):
    # The name resolves only after the deadline: the abandoned worker then connects and sends the
    # headers, but the body, sealed when the caller gave up, never leaves.
    with LocalServer(answer_json) as server:
        resolver['slow.resolves.test'] = (1.5, ['127.0.0.1'])
        client = real_client('http://slow.resolves.test:%d' % server.port, timeout=1, allow_insecure_http=True)
        with pytest.raises(TransportError) as info:
            client.change_password(TOKEN, NEW_PASSWORD)
        assert info.value.maybe_acted is False
        assert wait_for(lambda: server.requests, 5)  # the worker did connect, after the decision
    (request,) = server.requests
    head, _sep, body = request.partition(b'\r\n\r\n')
    assert head.startswith(b'POST /token.php HTTP/1.1')
    assert body == b''
    assert quote_plus(NEW_PASSWORD).encode('ascii') not in request


# -- IPv6 literals ------------------------------------------------------------------------------


def ipv6_loopback():
    try:
        sock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        sock.bind(('::1', 0))
        sock.close()
        return True
    except OSError:
        return False


@pytest.mark.skipif(not ipv6_loopback(), reason='no IPv6 loopback (::1) on this machine')
def test_real_ipv6_literal_with_a_port():
    with LocalServer(answer_json, host='::1') as server:
        assert server.url.startswith('http://[::1]:')
        assert real_client(server.url).get_token(USERNAME, PASSWORD) == Token(TOKEN, EXPIRE)
    (request,) = server.requests
    assert b'\r\nHost: [::1]:%d\r\n' % server.port in request


@pytest.mark.skipif(not ipv6_loopback(), reason='no IPv6 loopback (::1) on this machine')
def test_real_ipv6_literal_without_a_port_keeps_the_default_port():
    # Nothing listens on [::1]:80 here: refused at once proves the address and port were kept
    # (a mangled host would fail to resolve instead).
    with pytest.raises(TransportError) as info:
        real_client('http://[::1]').validate(TOKEN)
    assert 'Connection refused' in str(info.value)
    assert str(info.value).startswith('ContactNow validate request to [::1] failed: ')


def test_ipv6_literal_without_a_port_reaches_requests_whole():
    client, session, _sleeps = make_client(reply(success=False, error='Invalid token'), api_url='https://[2001:db8::1]')
    with pytest.raises(InvalidTokenError) as info:
        client.validate(TOKEN)
    assert session.calls[0]['url'] == 'https://[2001:db8::1]/token.php'
    assert requests.Request('POST', session.calls[0]['url']).prepare().url == 'https://[2001:db8::1]/token.php'
    assert ' to [2001:db8::1] failed' in str(info.value)


# -- requests: imported when a request is sent, named when missing ------------------------------------


def test_importing_the_client_and_building_one_imports_no_http_library():
    import subprocess
    import sys

    code = ('import sys\n'
            'from ansible_collections.eightbyeight.contactnow.plugins.module_utils._client import ContactNowClient\n'
            'from ansible_collections.eightbyeight.contactnow.plugins.module_utils._options import ConnectionOptions\n'
            'ContactNowClient(ConnectionOptions())\n'
            'print(sorted(m for m in ("requests", "urllib3", "http.client") if m in sys.modules))\n')
    output = subprocess.run([sys.executable, '-c', code], env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)),
                            capture_output=True, timeout=60, check=True).stdout
    assert output.strip() == b'[]'


def test_missing_requests_is_one_message_naming_what_to_install(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, 'requests', None)  # "import requests" raises ImportError
    client = ContactNowClient(ConnectionOptions(api_url=API_URL), retry_policy=RetryPolicy(3, sleep=Sleeps()))
    with pytest.raises(TransportError) as info:
        client.change_password(TOKEN, NEW_PASSWORD)
    message = str(info.value)
    assert 'pip install requests' in message
    assert 'controller' in message and 'managed host' in message
    assert info.value.maybe_acted is False and info.value.attempts == 1


# -- messages: scrub, then cut; regional bases on a 404 -----------------------------------------------


def test_a_long_cause_is_scrubbed_before_it_is_cut():
    # The password straddles the cut: cutting first would leave its beginning, which no scrub finds.
    error = OSError('x' * (300 - 6) + PASSWORD)
    client, _session, _sleeps = make_client(error, retries=0)
    with pytest.raises(TransportError) as info:
        client.validate(TOKEN)
    assert PASSWORD[:6] not in str(info.value)


@pytest.mark.parametrize('call, script', [
    (lambda client: client.get_token(USERNAME, PASSWORD), 'token.php'),
    (lambda client: client.call_api('ecnow', 'agents', 'read', TOKEN), 'ecnow.php'),
])
def test_not_found_names_the_regional_base_urls(call, script):
    client, _session, _sleeps = make_client(response('<html><title>404 Not Found</title></html>', status=404))
    with pytest.raises(TransportError) as info:
        call(client)
    message = str(info.value)
    assert 'HTTP 404' in message and 'no %s there' % script in message
    assert 'https://api.contactnow.8x8.com/api/' in message and 'https://api-106.dxi.eu/' in message

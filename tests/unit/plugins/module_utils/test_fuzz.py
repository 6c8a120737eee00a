# -*- coding: utf-8 -*-
# Copyright (c) eightbyeight.contactnow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Fuzzing with hypothesis: whatever a server answers or a user sets, only our own errors come out.

- the decoder on arbitrary bytes, on JSON documents and on XML documents;
- the client on arbitrary HTTP answers (status, headers, body), preloaded and from a real local
  server, and on arbitrary exceptions from the transport;
- the option handling every module and the lookup share (``ConnectionOptions``, ``require_seconds``).

Runs are reproducible (``derandomize``: a fixed seed, so CI is stable) and write no example
database.  The number of examples is ``CONTACTNOW_FUZZ_EXAMPLES`` in total (default 6000), shared
out between the tests by the weights below; ``make fuzz`` raises it.  Each test checks that its
share really ran.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import http.client
import json
import os
import socket
import ssl
import threading

from xml.sax.saxutils import escape, quoteattr

import pytest

hypothesis = pytest.importorskip('hypothesis')  # tests/unit/requirements.txt installs it

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from ansible_collections.eightbyeight.contactnow.plugins.module_utils._client import (  # noqa: E402
    ContactNowClient,
    ContactNowError,
    RetryPolicy,
    Token,
    TransportError,
)
from ansible_collections.eightbyeight.contactnow.plugins.module_utils._decode import (  # noqa: E402
    MAX_TOKEN_LENGTH,
    UndecodableReply,
    decode_reply,
)
from ansible_collections.eightbyeight.contactnow.plugins.module_utils._options import (  # noqa: E402
    ConnectionOptions,
    OptionError,
    require_seconds,
)

DEFAULT_TOTAL = 6000
WEIGHTS = {
    'bytes': 1500,
    'json': 1100,
    'xml': 900,
    'options': 1000,
    'seconds': 300,
    'preloaded': 600,
    'server': 300,
    'exceptions': 300,
}
PASSWORD = 'Fuzz+pass/word&1'
TOKEN = 'bd932b769fc7263316345627d0a9ef3b8f8d1f8d'


def budget(name):
    try:
        total = int(os.environ.get('CONTACTNOW_FUZZ_EXAMPLES', DEFAULT_TOTAL))
    except ValueError:
        total = DEFAULT_TOTAL
    return max(10, total * WEIGHTS[name] // sum(WEIGHTS.values()))


def fuzz(name):
    """hypothesis settings for one fuzz test: its share of the examples, a fixed seed, no database."""
    return settings(max_examples=budget(name), derandomize=True, database=None, deadline=None, print_blob=True,
                    suppress_health_check=list(HealthCheck))


class Counter:
    def __init__(self):
        self.runs = 0

    def check(self, name):
        # derandomize runs max_examples unless the strategy's space is exhausted first; none of ours is small.
        assert self.runs >= budget(name), 'only %d of %d examples ran' % (self.runs, budget(name))


def is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def check_reply(reply):
    """What every caller of decode_reply may rely on."""
    assert isinstance(reply, dict)
    assert isinstance(reply['success'], bool)
    if 'expire' in reply:
        assert is_int(reply['expire'])
    if 'token' in reply:
        token = reply['token']
        assert isinstance(token, str) and 0 < len(token) <= MAX_TOKEN_LENGTH and token.isprintable()
        assert reply['success'] is True
    if 'error' in reply:
        assert isinstance(reply['error'], str)


def decode_or_refuse(body):
    try:
        reply = decode_reply(body)
    except UndecodableReply as exc:
        assert '\n' not in str(exc)
        return None
    check_reply(reply)
    return reply


# -- the decoder ------------------------------------------------------------------------------------


def test_decoder_on_arbitrary_bytes():
    counter = Counter()

    @fuzz('bytes')
    @given(st.one_of(st.binary(max_size=2048),
                     st.binary(max_size=512).map(lambda raw: b'{"success":true,' + raw),
                     st.binary(max_size=512).map(lambda raw: b'<result><success>1</success>' + raw)))
    def run(body):
        counter.runs += 1
        decode_or_refuse(body)

    run()
    counter.check('bytes')


JSON_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True),
                         st.text(max_size=20), st.sampled_from([TOKEN, '1307975676', 'true', '0', '']))
JSON_VALUES = st.one_of(JSON_SCALARS, st.lists(JSON_SCALARS, max_size=3),
                        st.dictionaries(st.sampled_from(['#text', 'a', 'b']), JSON_SCALARS, max_size=2))
FIELD_NAMES = st.sampled_from(['success', 'Success', ' SUCCESS ', 'token', 'TOKEN', 'expire', 'Expire', 'error', 'records'])


def test_decoder_on_json_documents():
    counter = Counter()

    @fuzz('json')
    @given(st.dictionaries(st.one_of(FIELD_NAMES, st.text(max_size=10)), JSON_VALUES, max_size=6),
           st.sampled_from(['plain', 'bom', 'indent', 'truncated']), st.integers(min_value=0, max_value=200))
    def run(fields, style, cut):
        counter.runs += 1
        text = json.dumps(fields, indent=2 if style == 'indent' else None)
        if style == 'truncated':
            text = text[:cut]
        body = ('\ufeff' + text if style == 'bom' else text).encode('utf-8', 'surrogatepass')
        reply = decode_or_refuse(body)
        if reply is not None and style != 'truncated':
            lowered = dict((str(key).strip().lower(), value) for key, value in fields.items())
            assert 'success' in lowered

    run()
    counter.check('json')


XML_NAMES = st.sampled_from(['result', 'success', 'token', 'expire', 'error', 'Result', 'EXPIRE', 'a', 'b', 'records'])
XML_TEXT = st.one_of(st.sampled_from(['1', '0', 'true', TOKEN, '1307975676', '-1', '', ' 12 ']), st.text(max_size=20))


def xml_element(draw_name, children, text, attribute):
    inner = ''.join(children) if children else escape(text)
    attrs = ' a=%s' % quoteattr(attribute) if attribute is not None else ''
    return '<%s%s>%s</%s>' % (draw_name, attrs, inner, draw_name)


XML_LEAVES = st.builds(lambda name, text, attribute: xml_element(name, None, text, attribute),
                       XML_NAMES, XML_TEXT, st.none() | st.text(max_size=8))
XML_TREES = st.one_of(XML_LEAVES, st.builds(lambda name, kids: xml_element(name, kids, '', None), XML_NAMES,
                                            st.lists(XML_LEAVES, max_size=3)))


def test_decoder_on_xml_documents():
    counter = Counter()

    @fuzz('xml')
    @given(st.lists(XML_TREES, max_size=6), st.sampled_from(['result', 'response', 'html']),
           st.booleans(), st.none() | st.integers(min_value=0, max_value=300))
    def run(children, root, declaration, cut):
        counter.runs += 1
        text = '<%s>%s</%s>' % (root, ''.join(children), root)
        if declaration:
            text = '<?xml version="1.0" encoding="UTF-8"?>\n' + text
        if cut is not None:
            text = text[:cut]
        decode_or_refuse(text.encode('utf-8', 'surrogatepass'))

    run()
    counter.check('xml')


# -- the options every module and the lookup share --------------------------------------------------

ANY_VALUE = st.one_of(st.none(), st.booleans(), st.integers(min_value=-10 ** 12, max_value=10 ** 12),
                      st.floats(allow_nan=True), st.text(max_size=30), st.lists(st.integers(), max_size=2),
                      st.sampled_from(['yes', 'no', 'true', '0', '1', '30', '-1', ' 7 ', '1e3', '\u0661']))
URLS = st.one_of(
    st.sampled_from(['https://api.contactnow.8x8.com', 'https://api-106.dxi.eu/api/', 'http://127.0.0.1:8080',
                     'http://[::1]:9/', 'http://localhost', 'http://10.0.0.5', 'https://u:p@h', 'https://h:0',
                     'https://h:65536', 'https://[::1', 'https://h/?q=1', 'https://', 'ftp://h', 'https://h\n.x',
                     'HTTPS://API.EXAMPLE.TEST:443/x/']),
    st.builds(lambda scheme, rest: scheme + rest, st.sampled_from(['http://', 'https://', '']), st.text(max_size=40)),
    ANY_VALUE)
OPTION_VALUES = st.fixed_dictionaries({}, optional={
    'api_url': URLS, 'username': ANY_VALUE, 'password': ANY_VALUE, 'validate_certs': ANY_VALUE,
    'ca_path': st.one_of(ANY_VALUE, st.just(__file__)), 'timeout': ANY_VALUE, 'retries': ANY_VALUE,
    'format': st.one_of(ANY_VALUE, st.sampled_from(['json', 'xml'])), 'cache': ANY_VALUE,
    'allow_insecure_http': ANY_VALUE,
})


def test_connection_options_take_any_values():
    counter = Counter()

    @fuzz('options')
    @given(OPTION_VALUES)
    def run(values):
        counter.runs += 1
        try:
            options = ConnectionOptions.from_mapping(values)
        except OptionError as exc:
            message = str(exc)
            assert '\n' not in message
            for name in ('password', 'username'):
                secret = values.get(name)
                if isinstance(secret, str) and len(secret) > 6:
                    assert secret not in message
            return
        assert options.token_url == options.api_url + '/token.php'
        assert '@' not in options.host
        assert 0 < options.timeout and 0 <= options.retries
        assert isinstance(options.validate_certs, bool) and isinstance(options.cache, bool)
        assert options.response_format in ('json', 'xml')
        if options.api_url.lower().startswith('http://') and not options.allow_insecure_http:
            assert options.warnings == []

    run()
    counter.check('options')


def test_seconds_options_take_any_values():
    counter = Counter()

    @fuzz('seconds')
    @given(ANY_VALUE)
    def run(value):
        counter.runs += 1
        try:
            assert require_seconds(value, 'min_ttl') >= 0
        except OptionError as exc:
            assert str(exc).startswith('min_ttl must be')

    run()
    counter.check('seconds')


# -- the client on arbitrary answers ----------------------------------------------------------------


class Sleeps(list):
    def __call__(self, seconds):
        self.append(seconds)


ACTIONS = {
    'get': lambda client: client.get_token('apiuser', PASSWORD),
    'validate': lambda client: client.validate(TOKEN),
    'delete': lambda client: client.delete(TOKEN),
    'newpass': lambda client: client.change_password(TOKEN, 'N3w+pass/word'),
}


def run_action(client, action):
    try:
        outcome = ACTIONS[action](client)
    except ContactNowError as exc:
        message = str(exc)
        assert '\n' not in message
        for secret in (PASSWORD, 'N3w+pass/word') + ((TOKEN,) if action != 'get' else ()):
            assert secret not in message
        if isinstance(exc, TransportError):
            assert isinstance(exc.maybe_acted, bool)
        return exc
    if action == 'get':
        assert isinstance(outcome, Token) and isinstance(outcome.token, str) and is_int(outcome.expire)
    if action == 'validate':
        assert is_int(outcome)
    return outcome


REPLY_BODIES = st.one_of(
    st.binary(max_size=512),
    st.builds(lambda fields: json.dumps(fields).encode('utf-8', 'surrogatepass'),
              st.dictionaries(st.one_of(FIELD_NAMES, st.text(max_size=6)), JSON_VALUES, max_size=5)),
    st.sampled_from([b'{"success":true,"token":"%s","expire":1307975676}' % TOKEN.encode('ascii'),
                     b'{"success":false,"error":"Invalid token"}', b'{"success":false,"error":"Authentication failure"}',
                     b'<html><head><title>Oops</title></head></html>', b'<result><success>1</success></result>']),
)
STATUSES = st.one_of(st.sampled_from([200, 200, 200, 204, 301, 302, 400, 401, 403, 404, 429, 500, 502, 503]),
                     st.integers(min_value=200, max_value=599))
HEADER_VALUES = st.one_of(st.sampled_from(['0', '5', '1e9', 'Wed, 21 Oct 2015 07:28:00 GMT', '-3', 'inf', 'nan']),
                          st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=20))
HEADERS = st.dictionaries(st.sampled_from(['Retry-After', 'Location', 'Content-Type', 'X-Other', 'Set-Cookie']),
                          HEADER_VALUES, max_size=3)


class Answer:
    """A preloaded answer with the transport's response interface (status_code, headers, content)."""

    def __init__(self, status, headers, content):
        self.status_code = status
        self.headers = headers
        self.content = content

    def close(self):
        pass


def test_client_on_arbitrary_preloaded_answers():
    counter = Counter()

    class Session:
        def __init__(self, answer):
            self.answer = answer

        def post(self, url, **kwargs):
            kwargs['data'].read()
            return self.answer

    @fuzz('preloaded')
    @given(STATUSES, HEADERS, REPLY_BODIES, st.sampled_from(sorted(ACTIONS)), st.sampled_from(['json', 'xml']))
    def run(status, headers, body, action, response_format):
        counter.runs += 1
        answer = Answer(status, dict(headers), body)
        options = ConnectionOptions(api_url='https://api.example.test', username='apiuser', password=PASSWORD,
                                    retries=1, response_format=response_format)
        client = ContactNowClient(options, session=Session(answer), retry_policy=RetryPolicy(1, sleep=Sleeps()))
        run_action(client, action)

    run()
    counter.check('preloaded')


EXCEPTIONS = st.sampled_from([
    ConnectionRefusedError, ConnectionResetError, ConnectionAbortedError, BrokenPipeError, TimeoutError, socket.timeout,
    socket.gaierror, ssl.SSLError, ssl.SSLCertVerificationError, ssl.SSLEOFError, http.client.HTTPException,
    http.client.RemoteDisconnected, http.client.BadStatusLine, http.client.LineTooLong, http.client.InvalidURL,
    http.client.ResponseNotReady, RuntimeError, ValueError, KeyError, TypeError, OSError, UnicodeError,
    MemoryError, RecursionError, AttributeError, IndexError, ZeroDivisionError,
]) | st.just('IncompleteRead')


def test_client_turns_any_transport_exception_into_ours():
    counter = Counter()

    class Session:
        def __init__(self, error, read_first):
            self.error = error
            self.read_first = read_first

        def post(self, url, **kwargs):
            if self.read_first:
                kwargs['data'].read()
            raise self.error

    @fuzz('exceptions')
    @given(EXCEPTIONS, st.text(max_size=60), st.booleans(), st.sampled_from(sorted(ACTIONS)))
    def run(kind, text, read_first, action):
        counter.runs += 1
        if kind == 'IncompleteRead':
            error = http.client.IncompleteRead((text + PASSWORD).encode('utf-8'), 10)
        else:
            error = kind(text + PASSWORD)
        options = ConnectionOptions(api_url='https://api.example.test', username='apiuser', password=PASSWORD, retries=1)
        client = ContactNowClient(options, session=Session(error, read_first), retry_policy=RetryPolicy(1, sleep=Sleeps()))
        outcome = run_action(client, action)
        assert isinstance(outcome, ContactNowError)
        if isinstance(outcome, TransportError):
            assert outcome.maybe_acted is read_first  # never sent exactly when the body was never read

    run()
    counter.check('exceptions')


class AnswerServer:
    """A local HTTP server that sends whatever raw answer the current example sets, one per connection."""

    def __init__(self):
        self.answer = b''
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind(('127.0.0.1', 0))
        self.listener.listen(16)
        self.listener.settimeout(0.5)
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._serve)
        self.thread.daemon = True
        self.thread.start()

    @property
    def url(self):
        return 'http://127.0.0.1:%d' % self.listener.getsockname()[1]

    def _serve(self):
        while not self.stopping.is_set():
            try:
                conn, _address = self.listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            conn.settimeout(5)
            try:
                data = b''
                while b'\r\n\r\n' not in data and len(data) < 65536:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                conn.sendall(self.answer)
            except OSError:
                pass
            finally:
                conn.close()

    def stop(self):
        self.stopping.set()
        self.thread.join(5)
        self.listener.close()


def http_answer(status, headers, body, framing):
    head = b'HTTP/1.1 %d Fuzz\r\n' % status
    for name, value in headers.items():
        head += ('%s: %s\r\n' % (name, value)).encode('latin-1', 'replace')
    if framing == 'length':
        head += b'Content-Length: %d\r\n' % len(body)
    elif framing == 'short':
        head += b'Content-Length: %d\r\n' % (len(body) + 10)
    elif framing == 'chunked':
        head += b'Transfer-Encoding: chunked\r\n'
        body = b'%x\r\n%s\r\n0\r\n\r\n' % (len(body), body) if body else b'0\r\n\r\n'
    elif framing == 'bad_chunked':
        head += b'Transfer-Encoding: chunked\r\n'
    return head + b'\r\n' + body


@pytest.fixture(scope='module')
def answer_server():
    server = AnswerServer()
    yield server
    server.stop()


def test_client_on_arbitrary_answers_from_a_real_server(answer_server):
    counter = Counter()

    @fuzz('server')
    @given(st.one_of(
        st.builds(http_answer, STATUSES, HEADERS, REPLY_BODIES,
                  st.sampled_from(['length', 'length', 'close', 'short', 'chunked', 'bad_chunked'])),
        st.binary(max_size=300),
    ), st.sampled_from(sorted(ACTIONS)))
    def run(raw, action):
        counter.runs += 1
        answer_server.answer = raw
        options = ConnectionOptions(api_url=answer_server.url, username='apiuser', password=PASSWORD, retries=0, timeout=5)
        client = ContactNowClient(options, retry_policy=RetryPolicy(0, sleep=Sleeps()))
        run_action(client, action)

    run()
    counter.check('server')

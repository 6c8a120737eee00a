# -*- coding: utf-8 -*-
# Copyright (c) eightbyeight.contactnow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The unit tests' one model of the API: constants, fakes and the renderer, shared by every test.

- :class:`FakeApi` is token.php at the client's interface (what TokenManager calls);
- :class:`FakeServer` is token.php and the records APIs one level down, a session behind the real
  client, rendering replies with the sandbox's own renderer (tests/sandbox).

The rest of this docstring is about FakeApi, one stateful fake of token.php with the client
interface the plugins use.

It keeps what the real API keeps -- accounts and their passwords, tokens bound to an account and an
address with an expiry on the test's clock, failed sign-ins per account -- and answers the four
actions as token.php documents them:

- ``get`` hands back the account's current token for the address while it is valid, else a new
  one; a wrong password is an "Authentication failure" and counts against the account (after
  ``lockout_after`` failures in a row the account refuses even the right password, as lockout
  policies do);
- ``validate``, ``delete`` and ``newpass`` answer "Invalid token" for a token that is unknown or
  bound to another address than the one requests come from (``here``), "Expired token" once
  its expiry has passed.

Faults are scripted per action with :meth:`FakeApi.script`: each outcome is used by one request,
in order. ``None`` behaves; an exception (the ones the real client raises) is raised before the
server acts; a :class:`Fault` also says whether the server acted first, acts later (a slow
server, see :meth:`FakeApi.apply_pending`) or answered success without acting.

With ``shared_dir`` the state lives in a file under a lock, so processes forked from the test
(the lookup's fan-out) all talk to one server and every request they send is counted.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import contextlib
import fcntl
import importlib.util
import json
import os
import time

from urllib.parse import parse_qsl, urlsplit

from ansible_collections.eightbyeight.contactnow.plugins.module_utils._client import (
    AuthenticationError,
    ContactNowClient,
    ExpiredTokenError,
    InvalidTokenError,
    RetryPolicy,
    Token,
)

HOST = 'api.example.test'
API_URL = 'https://%s' % HOST
USERNAME = 'alice'
PASSWORD = 'Old+Secret/1&x=y'  # characters a form or a URL must encode
OTHER_USERNAME = 'bob'
OTHER_PASSWORD = 'Bobs-Secret-9'
START = 1700000000
LIFETIME = 43200  # token.php's documented 12 hours
HERE = '127.0.0.1'  # the address the fake sees requests come from

# One request as the fake received it.  ``password`` is the one presented to get, or the new one
# sent with newpass; ``address`` is the address get was asked to authorise (None: the sender's).
Call = collections.namedtuple('Call', ['action', 'username', 'password', 'address', 'token'])
Grant = collections.namedtuple('Grant', ['username', 'address', 'expire'])

LATER = 'later'


class Fault:
    """A scripted outcome: ``error`` raised (None: a success reply) after the server did ``acted``.

    ``acted`` is False (nothing happened), True (the action took effect, then the reply was lost)
    or ``LATER`` (the server carries it out after the client stopped waiting; newpass only).
    """

    def __init__(self, error=None, acted=False):
        self.error = error
        self.acted = acted


class _MemoryStore:
    def __init__(self, state):
        self._state = state

    @contextlib.contextmanager
    def transaction(self):
        yield self._state


class _FileStore:
    """The state as JSON in a file; each transaction holds an exclusive lock from read to write."""

    def __init__(self, directory, state):
        self.path = os.path.join(directory, 'fake-token-php.json')
        self._write(state)

    def _write(self, state):
        scratch = self.path + '.new'
        with open(scratch, 'w') as handle:
            json.dump(state, handle)
        os.rename(scratch, self.path)

    @contextlib.contextmanager
    def transaction(self):
        with open(self.path + '.lock', 'a') as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                with open(self.path) as handle:
                    state = json.load(handle)
                try:
                    yield state
                finally:  # a refused request is still a request the server saw and counted
                    self._write(state)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)


class FakeApi:
    """token.php in memory (or in a shared file): the client interface plus views for the tests."""

    def __init__(self, clock, accounts=None, lifetime=LIFETIME, here=HERE, host=HOST, lockout_after=None,
                 shared_dir=None, get_delay=0.0, token_pattern='token-%d'):
        self.clock = clock
        self.token_pattern = token_pattern  # the n-th token issued is token_pattern % n
        self.here = here
        self.host = host
        self.lockout_after = lockout_after
        self.get_delay = get_delay  # seconds get takes before answering (widens a race on purpose)
        self._faults = {}
        state = dict(
            accounts=dict(accounts if accounts is not None else {USERNAME: PASSWORD, OTHER_USERNAME: OTHER_PASSWORD}),
            tokens={},  # token -> [username, address, expire]
            failures={},  # username -> failed sign-ins
            consecutive={},  # username -> failed sign-ins since its last good one (what lockout counts)
            calls=[],
            serial=0,
            lifetime=lifetime,
            pending=None,  # [username, password] a slow server has yet to apply
        )
        self._store = _FileStore(shared_dir, state) if shared_dir else _MemoryStore(state)

    # -- the client interface (ContactNowClient's four actions) ---------------------------------

    def get_token(self, username, password, address=None):
        if self.get_delay:
            time.sleep(self.get_delay)
        with self._store.transaction() as state:
            self._record(state, 'get', username=username, password=password, address=address)
            fault = self._next_fault('get')
            self._before(fault)
            if self._locked_out(state, username) or state['accounts'].get(username) != password:
                for counter in ('failures', 'consecutive'):
                    state[counter][username] = state[counter].get(username, 0) + 1
                raise AuthenticationError('the API refused the username or password ("Authentication failure")',
                                          action='get', host=self.host)
            state['consecutive'][username] = 0
            bound_to = address or self.here
            now = self.clock()
            for token, (owner, token_address, expire) in state['tokens'].items():  # oldest first
                if (owner, token_address) == (username, bound_to) and expire > now:
                    return self._after(fault, Token(token, expire))
            return self._after(fault, self._issue(state, username, bound_to, state['lifetime']))

    def validate(self, token):
        with self._store.transaction() as state:
            self._record(state, 'validate', token=token)
            fault = self._next_fault('validate')
            self._before(fault)
            return self._after(fault, self._usable(state, token, 'validate')[2])

    def delete(self, token):
        with self._store.transaction() as state:
            self._record(state, 'delete', token=token)
            fault = self._next_fault('delete')
            self._before(fault)
            self._usable(state, token, 'delete')
            if fault is None or fault.acted:
                del state['tokens'][token]
            self._after(fault, None)

    def change_password(self, token, new_password):
        with self._store.transaction() as state:
            self._record(state, 'newpass', token=token, password=new_password)
            fault = self._next_fault('newpass')
            self._before(fault)
            owner = self._usable(state, token, 'newpass')[0]
            if fault is None or fault.acted is True:
                state['accounts'][owner] = new_password
            elif fault.acted == LATER:
                state['pending'] = [owner, new_password]
            self._after(fault, None)

    # -- arranging a scenario ------------------------------------------------------------------------

    def script(self, action, *outcomes):
        """Queue one outcome per coming ``action`` request: None, an exception or a Fault."""
        self._faults.setdefault(action, []).extend(outcomes)

    def issue(self, username=USERNAME, lifetime=None, address=None):
        """A token the server gave out earlier (another run, another host): no request recorded."""
        with self._store.transaction() as state:
            return self._issue(state, username, address or self.here,
                               state['lifetime'] if lifetime is None else lifetime)

    def revoke_all(self):
        """Someone deleted every token on another machine."""
        with self._store.transaction() as state:
            state['tokens'].clear()

    def expire_all(self):
        """Every token given out so far has just expired."""
        with self._store.transaction() as state:
            for grant in state['tokens'].values():
                grant[2] = int(self.clock() - 1)

    def set_password(self, username, password):
        """The account's password changed elsewhere (or the account is created)."""
        with self._store.transaction() as state:
            state['accounts'][username] = password

    def apply_pending(self):
        """The slow server finally carries out the newpass it was sent."""
        with self._store.transaction() as state:
            username, password = state['pending']
            state['accounts'][username] = password
            state['pending'] = None

    def forget_calls(self):
        """Start counting afresh: requests and failed sign-ins (a lockout in progress stays)."""
        with self._store.transaction() as state:
            state['calls'] = []
            state['failures'] = {}

    @property
    def lifetime(self):
        with self._store.transaction() as state:
            return state['lifetime']

    @lifetime.setter
    def lifetime(self, seconds):
        """The vendor changes how long new tokens last."""
        with self._store.transaction() as state:
            state['lifetime'] = seconds

    # -- what the server saw and holds ----------------------------------------------------------------

    @property
    def calls(self):
        with self._store.transaction() as state:
            return [Call(*call) for call in state['calls']]

    @property
    def actions(self):
        return [call.action for call in self.calls]

    @property
    def tokens(self):
        with self._store.transaction() as state:
            return dict((token, Grant(*grant)) for token, grant in state['tokens'].items())

    @property
    def failed_auths(self):
        with self._store.transaction() as state:
            return sum(state['failures'].values())

    def password_of(self, username=USERNAME):
        with self._store.transaction() as state:
            return state['accounts'].get(username)

    # -- inside the server ----------------------------------------------------------------------------

    def _record(self, state, action, username=None, password=None, address=None, token=None):
        state['calls'].append([action, username, password, address, token])

    def _next_fault(self, action):
        queue = self._faults.get(action)
        outcome = queue.pop(0) if queue else None
        if outcome is None or isinstance(outcome, Fault):
            return outcome
        return Fault(outcome)

    @staticmethod
    def _before(fault):
        if fault is not None and fault.error is not None and fault.acted is False:
            raise fault.error

    @staticmethod
    def _after(fault, answer):
        if fault is not None and fault.error is not None:
            raise fault.error
        return answer

    def _locked_out(self, state, username):
        return self.lockout_after is not None and state['consecutive'].get(username, 0) >= self.lockout_after

    def _issue(self, state, username, address, lifetime):
        state['serial'] += 1
        token = self.token_pattern % state['serial']
        state['tokens'][token] = [username, address, int(self.clock() + lifetime)]
        return Token(token, state['tokens'][token][2])

    def _usable(self, state, token, action):
        grant = state['tokens'].get(token)
        if grant is None or grant[1] != self.here:
            raise InvalidTokenError('the token is not valid for this account and address ("Invalid token")',
                                    action=action, host=self.host)
        if grant[2] <= self.clock():
            raise ExpiredTokenError('the token has expired ("Expired token")', action=action, host=self.host)
        return grant


# -- the other APIs, one level down: a session behind the real client ---------------------------------


def _sandbox_records():
    """The sandbox's records API module, loaded in process: its renderer is the one the tests use."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'sandbox', 'contactnow_sandbox_records.py')
    spec = importlib.util.spec_from_file_location('contactnow_sandbox_records_for_units', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


render = _sandbox_records().render


def client_over(server, options):
    """The real ContactNowClient with ``server`` as its transport, retrying without sleeping."""
    return ContactNowClient(options, session=server, retry_policy=RetryPolicy(options.retries, sleep=lambda s: None))


class FakeResponse:
    """What the transport's post() returns, preloaded: status_code, headers, content, close()."""

    def __init__(self, status, content):
        self.status_code = status
        self.content = content
        self.headers = {'Content-Type': 'text/html; charset=UTF-8'}

    def close(self):
        pass


def response(body, status=200):
    return FakeResponse(status, body)


class FakeServer:
    """token.php and a records API in memory, as a session with the transport's post().

    ``faults``: action -> list of exceptions to raise; with ``after=True`` the action is carried out
    first (the reply is lost), else never (nothing reached the server).
    """

    def __init__(self, clock):
        self.clock = clock
        # token.php is the one fake of it, FakeApi; this class answers for it over HTTP.
        self.token_php = FakeApi(clock, accounts={USERNAME: PASSWORD}, token_pattern='bd932b76%032x')  # 40 hex digits, as the API's
        self.rows = {('database', 'campaigns'): [
            {'id': '1', 'name': 'Spring renewals', 'type': 'outbound'},
            {'id': '2', 'name': 'Inbound support', 'type': 'inbound'},
        ]}
        self.next_id = 10
        self.requests = []
        self.faults = {}
        self.expired_reply = dict(success=False, error='Expired token', expire=-1)

    def fault(self, action, exception, after=False):
        self.faults.setdefault(action, []).append((exception, after))

    def post(self, url, params=None, data=None, headers=None, **kwargs):
        query = dict(params or {})
        path = urlsplit(url).path
        # A fault before the action strikes before the body is read (the client may check that it
        # was not), so it needs the action from the query string: the way writes are sent.
        fault = self._fault(query.get('action'))
        if fault and not fault[1]:
            self.requests.append(dict(path=path, action=query['action'], query=query, form={}, headers=headers or {},
                                      body=None, url=url))
            return self._fail(fault[0])
        form, data = self._payload(data, headers or {})
        args = dict(query, **form)
        action = args.get('action')
        self.requests.append(dict(path=path, action=action, query=query, form=form, headers=headers or {},
                                  body=data, url=url))
        if 'action' not in query:
            fault = self._fault(action)
            if fault and not fault[1]:
                return self._fail(fault[0])  # after the body was read: for reads, which are retried anyway
        if path.endswith('/token.php'):
            reply = self._token(args)
        else:
            reply = self._records(path.rsplit('/', 1)[1][:-len('.php')], args, data)
        if fault:
            return self._fail(fault[0])
        return response(render(reply, args.get('format') or 'json'))

    def _fault(self, action):
        return self.faults.get(action) and self.faults[action].pop(0)

    @staticmethod
    def _payload(data, headers):
        """(form, raw body) from a form dict, bytes, or a file-like body with its Content-Type header."""
        if isinstance(data, dict):
            return dict(data), None
        if hasattr(data, 'read'):
            data = data.read()
        if headers.get('Content-Type', '').startswith('application/x-www-form-urlencoded'):
            return dict(parse_qsl(data.decode('utf-8'))), None
        return {}, data

    @staticmethod
    def _fail(outcome):
        if isinstance(outcome, FakeResponse):
            return outcome
        raise outcome

    def _token(self, args):
        assert args['action'] == 'get'
        try:
            token = self.token_php.get_token(args['username'], args['password'], args.get('address'))
        except AuthenticationError:
            return dict(success=False, error='Authentication failure')
        return dict(success=True, token=token.token, expire=token.expire)

    def _records(self, script, args, body):
        token = args.get('token')
        if token not in self.tokens:
            return dict(success=False, error='Unknown token')
        if self.tokens[token] <= self.clock():
            return dict(self.expired_reply)
        rows = self.rows.setdefault((script, args['method']), [])
        if args['action'] == 'read':
            filters = dict((k, v) for k, v in args.items() if k not in ('token', 'method', 'action', 'format'))
            found = [row for row in rows if all(row.get(k) == v for k, v in filters.items())]
            return dict(success=True, total=len(found), list=found)
        records = json.loads(body.decode('utf-8'))
        if args['action'] == 'create':
            bad = [r for r in records if not r.get('name')]
            for record in records:
                if record.get('name'):
                    self.next_id += 1
                    rows.append(dict(((k, str(v)) for k, v in record.items()), id=str(self.next_id)))
            reply = dict(success=True, total=len(records) - len(bad), key=str(self.next_id))
            if bad:
                reply['bad'] = bad
            return reply
        changed = 0
        for record in records:
            for row in rows:
                if row['id'] == str(record['id']):
                    if args['action'] == 'delete':
                        rows.remove(row)
                        changed += 1
                    elif any(row.get(k) != str(v) for k, v in record.items()):
                        row.update((k, str(v)) for k, v in record.items())
                        changed += 1
                    break
        return dict(success=True, total=changed)

    @property
    def actions(self):
        return [(request['path'].rsplit('/', 1)[1], request['action']) for request in self.requests]

    @property
    def tokens(self):
        """token -> expire of every token token.php gave out and still holds."""
        return dict((token, grant.expire) for token, grant in self.token_php.tokens.items())

    def expire_all(self):
        self.token_php.expire_all()


def reset():
    return ConnectionResetError(104, 'Connection reset by peer')


def refused():
    return ConnectionRefusedError(111, 'Connection refused')

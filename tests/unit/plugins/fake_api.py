# -*- coding: utf-8 -*-
# Copyright (c) eightbyeight.contactnow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""One stateful fake of token.php for every unit test, with the client interface the plugins use.

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
import json
import os
import time

from ansible_collections.eightbyeight.contactnow.plugins.module_utils._client import (
    AuthenticationError,
    ExpiredTokenError,
    InvalidTokenError,
    Token,
)

HOST = 'api.example.test'
API_URL = 'https://%s' % HOST
USERNAME = 'alice'
PASSWORD = 'Old-Secret-1'
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
                 shared_dir=None, get_delay=0.0):
        self.clock = clock
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
        token = 'token-%d' % state['serial']
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

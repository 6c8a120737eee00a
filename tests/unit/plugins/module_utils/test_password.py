# -*- coding: utf-8 -*-
# Copyright (c) eightbyeight.contactnow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""PasswordRotation: every branch of contactnow_password against a fake client.

The fake keeps the account's live password and counts failed authentications, so each test can
say what the API saw, not only what the module reported.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.eightbyeight.contactnow.plugins.module_utils._cache import TokenCache
from ansible_collections.eightbyeight.contactnow.plugins.module_utils._client import (
    ApiError,
    AuthenticationError,
    InvalidTokenError,
    ReplyError,
    Token,
    TransportError,
)
from ansible_collections.eightbyeight.contactnow.plugins.module_utils._options import ConnectionOptions, OptionError
from ansible_collections.eightbyeight.contactnow.plugins.module_utils._password import (
    PasswordRotation,
    PasswordRotationError,
    password_state,
)

HOST = 'api.example.test'
USER = 'alice'
OLD = 'Old-Secret-1'
NEW = 'New-Secret-2'
NOW = 1700000000
LIFETIME = 43200


class FakeClient:
    """Just enough of ContactNowClient: two accounts, tokens bound to them, and scripted faults."""

    def __init__(self, live=OLD):
        self.passwords = {USER: live, 'bob': 'Bobs-Secret-9'}
        self.calls = []
        self.failed_auths = 0
        self.tokens = {}  # token -> (username, expire)
        self.newpass_fault = None  # 'lost_after', 'lost_before', 'not_sent', 'cut_after', 'policy', 'invalid_token', 'slow'
        self.get_faults = []  # exceptions raised by the next get calls (None: behave)
        self.newpass_ok_but_ignored = False
        self.delayed_change = None  # (username, password) a slow server applies later
        self._serial = 0

    @property
    def live(self):
        return self.passwords[USER]

    @live.setter
    def live(self, value):
        self.passwords[USER] = value

    def apply_delayed_change(self):
        username, password = self.delayed_change
        self.passwords[username] = password
        self.delayed_change = None

    def _issue(self, username=USER):
        self._serial += 1
        token = 'token-%d' % self._serial
        self.tokens[token] = (username, NOW + LIFETIME)
        return Token(token, NOW + LIFETIME)

    def get_token(self, username, password, address=None):
        self.calls.append(('get', 'new' if password == NEW else 'old' if password == OLD else 'other'))
        if self.get_faults:
            fault = self.get_faults.pop(0)
            if fault is not None:
                raise fault
        if self.passwords.get(username) != password:
            self.failed_auths += 1
            raise AuthenticationError('the API refused the username or password ("Authentication failure")',
                                      action='get', host=HOST)
        for token, (owner, expire) in self.tokens.items():
            if owner == username:
                return Token(token, expire)  # get returns the current token while one is valid
        return self._issue(username)

    def validate(self, token):
        self.calls.append(('validate', token))
        if token not in self.tokens:
            raise InvalidTokenError('the token is not valid ("Invalid token")', action='validate', host=HOST)
        return self.tokens[token][1]

    def delete(self, token):
        self.calls.append(('delete', token))
        self.tokens.pop(token, None)

    def change_password(self, token, new_password):
        self.calls.append(('newpass', token))
        fault = self.newpass_fault
        if fault == 'not_sent':
            raise TransportError('could not connect (Connection refused)', maybe_acted=False, action='newpass', host=HOST)
        if fault == 'lost_before':
            raise TransportError('the connection broke (reset)', action='newpass', host=HOST)
        if fault == 'policy':
            raise ApiError('the API answered "Bad argument: password must be at least 8 characters"',
                           server_text='Bad argument: password must be at least 8 characters', action='newpass', host=HOST)
        if fault == 'invalid_token' or token not in self.tokens:
            raise InvalidTokenError('the token is not valid ("Invalid token")', action='newpass', host=HOST)
        owner = self.tokens[token][0]
        if fault == 'slow':
            # The server carries the change out after the client has given up waiting.
            self.delayed_change = (owner, new_password)
            raise TransportError('no answer within 1 seconds (timeout)', action='newpass', host=HOST)
        if not self.newpass_ok_but_ignored:
            self.passwords[owner] = new_password
        if fault == 'lost_after':
            raise TransportError('no answer within 30 seconds (timeout)', action='newpass', host=HOST)
        if fault == 'tls_after':
            raise TransportError('the connection broke ([SSL: DECRYPTION_FAILED_OR_BAD_RECORD_MAC])', action='newpass', host=HOST)
        if fault == 'cut_after':
            raise ReplyError('the answer is cut short', action='newpass', host=HOST)

    def actions(self):
        return [call[0] for call in self.calls]


class BrokenCache(TokenCache):
    """A cache whose directory cannot be used (a root-owned ~/.cache, a full disk)."""

    def __init__(self, directory, broken_from=0):
        super(BrokenCache, self).__init__(directory)
        self.uses = 0
        self.broken_from = broken_from

    def _fail_when_broken(self):
        self.uses += 1
        if self.uses > self.broken_from:
            raise OSError(13, 'Permission denied')

    def locked(self, key):
        self._fail_when_broken()
        return super(BrokenCache, self).locked(key)

    def evict(self, key):
        self._fail_when_broken()
        return super(BrokenCache, self).evict(key)


@pytest.fixture
def cache(tmp_path):
    return TokenCache(str(tmp_path / 'cache'))


def options(password=OLD, **kwargs):
    return ConnectionOptions(api_url='https://%s' % HOST, username=USER, password=password, **kwargs)


def rotation(client, cache, password=OLD, new_password=NEW):
    return PasswordRotation(options(password), new_password, client=client, cache=cache, now=lambda: NOW)


def failure(client, cache, **kwargs):
    with pytest.raises(PasswordRotationError) as raised:
        rotation(client, cache, **kwargs).rotate()
    assert_no_secret(str(raised.value))
    assert raised.value.result == {'live_password': raised.value.live_password}
    return raised.value


def cached(cache, password=NEW):
    """The account's cache entry as a caller presenting ``password`` (by default the new one) sees it."""
    return cache.read(TokenCache.key('https://%s' % HOST, USER), password)


def assert_no_secret(text):
    assert OLD not in text and NEW not in text


# -- the ordinary rotation -----------------------------------------------------------------------


def test_rotation_changes_verifies_and_returns_token_for_new_password(cache):
    client = FakeClient()
    result = rotation(client, cache).rotate()
    assert result.changed and result.live_password == 'new'
    assert client.live == NEW
    assert client.calls == [('get', 'old'), ('newpass', 'token-1'), ('get', 'new')]
    assert client.failed_auths == 0
    assert (result.token, result.expire, result.expires_in) == ('token-1', NOW + LIFETIME, LIFETIME)
    assert result.as_dict()['live_password'] == 'new'
    entry = cached(cache)
    assert (entry.token, entry.expire) == ('token-1', NOW + LIFETIME)
    assert cached(cache, OLD) is None  # obtained under the new password: never handed to the old one


def test_rotation_evicts_the_cached_token_from_before(cache):
    key = TokenCache.key('https://%s' % HOST, USER)
    cache.write(key, 'stale-token', NOW + 10, NOW)
    client = FakeClient()
    rotation(client, cache).rotate()
    assert cached(cache).token == 'token-1'


def test_rerun_after_rotation_is_idempotent_with_one_failed_auth(cache):
    client = FakeClient()
    rotation(client, cache).rotate()
    client.calls, client.failed_auths = [], 0
    result = rotation(client, cache).rotate()
    assert not result.changed and result.live_password == 'new'
    assert client.calls == [('get', 'old'), ('get', 'new')]
    assert client.failed_auths == 1
    assert result.token == 'token-1'


def test_already_rotated_elsewhere_is_no_change(cache):
    client = FakeClient(live=NEW)
    result = rotation(client, cache).rotate()
    assert not result.changed and result.live_password == 'new'
    assert result.token and result.expire == NOW + LIFETIME
    assert client.failed_auths == 1
    assert client.actions() == ['get', 'get']


def test_neither_password_accepted_fails_naming_neither(cache):
    client = FakeClient(live='Someone-Elses-3')
    error = failure(client, cache)
    assert 'accepted neither the current password nor new_password for user alice at %s' % HOST in str(error)
    assert error.live_password == 'unknown'
    assert client.actions() == ['get', 'get']
    assert cached(cache) is None


def test_same_password_only_verifies(cache):
    client = FakeClient()
    result = rotation(client, cache, new_password=OLD).rotate()
    assert not result.changed and result.live_password == 'new'
    assert client.calls == [('get', 'old')]
    assert result.token == 'token-1'


def test_same_password_refused_fails_after_one_attempt(cache):
    client = FakeClient(live='Someone-Elses-3')
    error = failure(client, cache, password=NEW, new_password=NEW)
    assert client.failed_auths == 1
    assert 'does not accept the password for user alice' in str(error)
    assert error.live_password == 'unknown'


def test_api_unreachable_before_anything_is_sent_is_unknown(cache):
    """Nothing was sent, but an earlier run's newpass may have landed: which password is live is not known."""
    client = FakeClient()
    client.get_faults = [TransportError('could not connect (Connection refused)', maybe_acted=False, action='get', host=HOST)]
    error = failure(client, cache)
    assert error.live_password == 'unknown'
    assert 'nothing was changed by this run' in str(error)
    assert 'newpass' not in client.actions()


# -- check mode and diff -------------------------------------------------------------------------


def test_check_mode_predicts_change_and_sends_no_newpass_or_delete(cache):
    client = FakeClient()
    result = rotation(client, cache).rotate(check_mode=True)
    assert result.changed
    assert result.live_password == 'current'  # the prediction is in the diff, not in live_password
    assert client.live == OLD
    assert client.actions() == ['get']
    assert result.token is None and result.expire is None and result.expires_in is None
    assert cached(cache) is None
    diff = result.as_dict(diff=True)['diff']
    assert diff == {'before': password_state('current'), 'after': password_state('new')}


def test_check_mode_after_rotation_predicts_no_change(cache):
    client = FakeClient(live=NEW)
    result = rotation(client, cache).rotate(check_mode=True)
    assert not result.changed and result.live_password == 'new'
    assert client.actions() == ['get', 'get']
    assert cached(cache) is None


def test_diff_is_data_and_never_shows_a_password(cache):
    client = FakeClient()
    outcome = rotation(client, cache).rotate().as_dict(diff=True, header='user alice at %s' % HOST)
    assert outcome['diff']['before'] == {'password': 'current', 'account': 'user alice at %s' % HOST}
    assert outcome['diff']['after'] == {'password': 'new', 'account': 'user alice at %s' % HOST}
    assert_no_secret(repr(outcome))


def test_no_diff_unless_asked(cache):
    assert 'diff' not in rotation(FakeClient(), cache).rotate().as_dict()


# -- never another account -----------------------------------------------------------------------


def test_newpass_is_sent_only_with_the_token_get_just_returned_for_this_account(cache):
    client = FakeClient()
    bobs_token = client._issue('bob').token
    key = TokenCache.key('https://%s' % HOST, USER)
    cache.write(key, bobs_token, NOW + LIFETIME, NOW)  # even a poisoned cache entry is never used for newpass
    result = rotation(client, cache).rotate()
    assert result.live_password == 'new'
    newpass_tokens = [call[1] for call in client.calls if call[0] == 'newpass']
    assert newpass_tokens == ['token-2']
    assert client.tokens['token-2'][0] == USER
    assert client.passwords['bob'] == 'Bobs-Secret-9'


def test_the_token_option_is_gone():
    with pytest.raises(TypeError):
        PasswordRotation(options(), NEW, held_token='bobs', client=FakeClient())  # pylint: disable=unexpected-keyword-arg


# -- local state is checked before the irreversible step -----------------------------------------


def test_unusable_cache_sends_no_newpass(tmp_path):
    client = FakeClient()
    with pytest.raises(PasswordRotationError) as raised:
        rotation(client, BrokenCache(str(tmp_path / 'cache'))).rotate()
    assert raised.value.live_password == 'current'
    assert 'newpass was not sent' in str(raised.value) and 'cannot be used' in str(raised.value)
    assert client.actions() == ['get']
    assert client.live == OLD


def test_cache_failing_after_a_confirmed_change_is_a_warning(tmp_path):
    client = FakeClient()
    cache = BrokenCache(str(tmp_path / 'cache'), broken_from=1)  # usable for the check, broken afterwards
    result = rotation(client, cache).rotate()
    assert result.changed and result.live_password == 'new'
    assert client.live == NEW
    assert len(result.warnings) == 1 and 'the token could not be cached' in result.warnings[0]
    assert_no_secret(result.warnings[0])
    assert result.as_dict()['warnings'] == result.warnings


# -- newpass refused or never sent ---------------------------------------------------------------


def test_password_policy_rejection_fails_with_api_text_and_keeps_old_password(cache):
    client = FakeClient()
    client.newpass_fault = 'policy'
    error = failure(client, cache)
    assert 'password must be at least 8 characters' in str(error)
    assert 'current password still works' in str(error)
    assert error.live_password == 'current'
    assert client.live == OLD
    assert client.actions() == ['get', 'newpass']


def test_newpass_with_rejected_token_fails_clearly(cache):
    client = FakeClient()
    client.newpass_fault = 'invalid_token'
    error = failure(client, cache)
    assert 'was not changed' in str(error)
    assert error.live_password == 'current'
    assert client.live == OLD


def test_newpass_that_never_left_is_not_probed(cache):
    client = FakeClient()
    client.newpass_fault = 'not_sent'
    error = failure(client, cache)
    assert 'never left this machine' in str(error) and 'safe to re-run' in str(error)
    assert error.live_password == 'current'
    assert client.actions() == ['get', 'newpass']


# -- the reply to newpass is lost ----------------------------------------------------------------


@pytest.mark.parametrize('fault', ['lost_after', 'cut_after', 'tls_after'])
def test_lost_reply_after_the_change_ends_knowing_new_password_is_live(cache, fault):
    client = FakeClient()
    client.newpass_fault = fault
    result = rotation(client, cache).rotate()
    assert result.changed and result.live_password == 'new'
    assert client.live == NEW
    # newpass once, never retried; then get with new_password proves the change (no failed sign-in)
    assert client.calls == [('get', 'old'), ('newpass', 'token-1'), ('get', 'new')]
    assert client.failed_auths == 0
    assert result.token == 'token-1'
    assert cached(cache).token == 'token-1'


def test_lost_reply_before_the_change_is_unknown_not_current(cache):
    client = FakeClient()
    client.newpass_fault = 'lost_before'
    error = failure(client, cache)
    assert error.live_password == 'unknown'
    assert 'keep both the current password and new_password' in str(error)
    assert client.calls == [('get', 'old'), ('newpass', 'token-1'), ('get', 'new')]
    assert client.failed_auths == 1
    # the re-run the message asks for converges
    client.newpass_fault = None
    result = rotation(client, cache).rotate()
    assert result.changed and result.live_password == 'new'


def test_slow_server_is_unknown_and_a_later_rerun_converges(cache):
    """The server applies newpass after the client timed out: the current password working proves nothing."""
    client = FakeClient()
    client.newpass_fault = 'slow'
    error = failure(client, cache)
    assert error.live_password == 'unknown'
    assert 'may still apply the change' in str(error)
    assert client.live == OLD  # still accepted at the time of the probe ...
    client.apply_delayed_change()  # ... and then the server acts
    client.newpass_fault = None
    result = rotation(client, cache).rotate()
    assert not result.changed and result.live_password == 'new'
    assert client.actions().count('newpass') == 1


def test_lost_reply_and_failed_probe_says_to_rerun(cache):
    client = FakeClient()
    client.newpass_fault = 'lost_after'
    client.get_faults = [None, TransportError('could not connect (Connection refused)', maybe_acted=False,
                                              action='get', host=HOST)]
    error = failure(client, cache)
    assert error.live_password == 'unknown'
    assert 'asking the API whether new_password is live failed too' in str(error)
    assert 're-run with the same password and new_password' in str(error)


# -- verification after a confirmed change -------------------------------------------------------


def test_confirmed_change_that_did_not_take_is_unknown(cache):
    client = FakeClient()
    client.newpass_ok_but_ignored = True
    error = failure(client, cache)
    assert error.live_password == 'unknown'
    assert client.failed_auths == 1


def test_confirmed_change_whose_verification_breaks_is_unknown(cache):
    client = FakeClient()
    client.get_faults = [None, TransportError('no answer within 30 seconds (timeout)', action='get', host=HOST)]
    error = failure(client, cache)
    assert 'new_password should be the live password' in str(error)
    assert error.live_password == 'unknown'
    assert client.live == NEW


# -- options -------------------------------------------------------------------------------------


@pytest.mark.parametrize('username,password,new_password,needle', [
    (None, OLD, NEW, 'username is required'),
    (USER, None, NEW, 'password (the current password) is required'),
    (USER, OLD, '', 'new_password must not be empty'),
])
def test_missing_options_are_named(cache, username, password, new_password, needle):
    opts = ConnectionOptions(api_url='https://%s' % HOST, username=username, password=password)
    with pytest.raises(OptionError) as raised:
        PasswordRotation(opts, new_password, client=FakeClient(), cache=cache)
    assert needle in str(raised.value)


def test_cache_false_writes_nothing(tmp_path):
    cache_dir = tmp_path / 'cache'
    opts = ConnectionOptions(api_url='https://%s' % HOST, username=USER, password=OLD, cache=False)
    result = PasswordRotation(opts, NEW, client=FakeClient(), cache=TokenCache(str(cache_dir)), now=lambda: NOW).rotate()
    assert result.changed
    assert not cache_dir.exists()

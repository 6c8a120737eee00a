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
    diff_text,
)

HOST = 'api.example.test'
USER = 'alice'
OLD = 'Old-Secret-1'
NEW = 'New-Secret-2'
NOW = 1700000000
LIFETIME = 43200


class FakeClient:
    """Just enough of ContactNowClient: one account, tokens, and scripted faults."""

    def __init__(self, live=OLD):
        self.live = live
        self.calls = []
        self.failed_auths = 0
        self.tokens = {}  # token -> expire
        self.newpass_fault = None  # 'lost_after', 'lost_before', 'not_sent', 'cut_after', 'policy', 'invalid_token'
        self.get_faults = []  # exceptions raised by the next get calls (None: behave)
        self.newpass_ok_but_ignored = False
        self._serial = 0

    def _issue(self):
        self._serial += 1
        token = 'token-%d' % self._serial
        self.tokens[token] = NOW + LIFETIME
        return Token(token, NOW + LIFETIME)

    def get_token(self, username, password, address=None):
        self.calls.append(('get', 'new' if password == NEW else 'old' if password == OLD else 'other'))
        if self.get_faults:
            fault = self.get_faults.pop(0)
            if fault is not None:
                raise fault
        if username != USER or password != self.live:
            self.failed_auths += 1
            raise AuthenticationError('the API refused the username or password ("Authentication failure")',
                                      action='get', host=HOST)
        for token, expire in self.tokens.items():
            return Token(token, expire)  # get returns the current token while one is valid
        return self._issue()

    def validate(self, token):
        self.calls.append(('validate', token))
        if token not in self.tokens:
            raise InvalidTokenError('the token is not valid ("Invalid token")', action='validate', host=HOST)
        return self.tokens[token]

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
        if not self.newpass_ok_but_ignored:
            self.live = new_password
        if fault == 'lost_after':
            raise TransportError('no answer within 30 seconds (timeout)', action='newpass', host=HOST)
        if fault == 'cut_after':
            raise ReplyError('the answer is cut short', action='newpass', host=HOST)

    def actions(self):
        return [call[0] for call in self.calls]


@pytest.fixture
def cache(tmp_path):
    return TokenCache(str(tmp_path / 'cache'))


def options(password=OLD, **kwargs):
    return ConnectionOptions(api_url='https://%s' % HOST, username=USER, password=password, **kwargs)


def rotation(client, cache, password=OLD, new_password=NEW, held_token=None):
    return PasswordRotation(options(password), new_password, held_token=held_token, client=client, cache=cache,
                            now=lambda: NOW)


def cached(cache):
    return cache.read(TokenCache.key('https://%s' % HOST, USER))


def assert_no_secret(text):
    assert OLD not in text and NEW not in text


# -- the ordinary rotation -----------------------------------------------------------------------


def test_rotation_changes_verifies_and_returns_token_for_new_password(cache):
    client = FakeClient()
    result = rotation(client, cache).rotate()
    assert result.changed
    assert client.live == NEW
    assert client.calls == [('get', 'old'), ('newpass', 'token-1'), ('get', 'new')]
    assert client.failed_auths == 0
    assert (result.token, result.expire, result.expires_in) == ('token-1', NOW + LIFETIME, LIFETIME)
    entry = cached(cache)
    assert (entry.token, entry.expire) == ('token-1', NOW + LIFETIME)


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
    assert not result.changed
    assert client.calls == [('get', 'old'), ('get', 'new')]
    assert client.failed_auths == 1
    assert result.token == 'token-1'
    assert 'newpass' not in client.actions()


def test_already_rotated_elsewhere_is_no_change(cache):
    client = FakeClient(live=NEW)
    result = rotation(client, cache).rotate()
    assert not result.changed
    assert result.token and result.expire == NOW + LIFETIME
    assert client.failed_auths == 1
    assert client.actions() == ['get', 'get']


def test_neither_password_accepted_fails_naming_neither(cache):
    client = FakeClient(live='Someone-Elses-3')
    with pytest.raises(PasswordRotationError) as raised:
        rotation(client, cache).rotate()
    message = str(raised.value)
    assert 'accepted neither the current password nor new_password for user alice at %s' % HOST in message
    assert_no_secret(message)
    assert client.actions() == ['get', 'get']
    assert cached(cache) is None


def test_same_password_only_verifies(cache):
    client = FakeClient()
    result = rotation(client, cache, new_password=OLD).rotate()
    assert not result.changed
    assert client.calls == [('get', 'old')]
    assert result.token == 'token-1'


def test_same_password_refused_fails_after_one_attempt(cache):
    client = FakeClient(live='Someone-Elses-3')
    with pytest.raises(PasswordRotationError) as raised:
        rotation(client, cache, password=NEW, new_password=NEW).rotate()
    assert client.failed_auths == 1
    assert 'does not accept the password for user alice' in str(raised.value)
    assert_no_secret(str(raised.value))


# -- check mode and diff -------------------------------------------------------------------------


def test_check_mode_predicts_change_and_sends_no_newpass_or_delete(cache):
    client = FakeClient()
    result = rotation(client, cache).rotate(check_mode=True)
    assert result.changed
    assert client.live == OLD
    assert client.actions() == ['get']
    assert result.token is None and result.expire is None and result.expires_in is None
    assert cached(cache) is None
    assert result.as_dict(diff=True)['diff']['before'] == diff_text('current')
    assert result.as_dict(diff=True)['diff']['after'] == diff_text('new')


def test_check_mode_after_rotation_predicts_no_change(cache):
    client = FakeClient(live=NEW)
    result = rotation(client, cache).rotate(check_mode=True)
    assert not result.changed
    assert client.actions() == ['get', 'get']
    assert cached(cache) is None


def test_diff_never_shows_a_password(cache):
    client = FakeClient()
    outcome = rotation(client, cache).rotate().as_dict(diff=True, header='user alice at %s' % HOST)
    assert outcome['diff']['before'] == 'password: current\n'
    assert outcome['diff']['after'] == 'password: new\n'
    assert_no_secret(repr(outcome))


def test_no_diff_unless_asked(cache):
    assert 'diff' not in rotation(FakeClient(), cache).rotate().as_dict()


# -- the token newpass is sent with --------------------------------------------------------------


def test_valid_token_option_is_used_for_newpass(cache):
    client = FakeClient()
    held = client._issue().token  # token-1, the one get will also return
    extra = client._issue().token  # token-2
    rotation(client, cache, held_token=extra).rotate()
    assert ('newpass', extra) in client.calls
    assert held != extra


def test_invalid_token_option_falls_back_to_the_fetched_token(cache):
    client = FakeClient()
    rotation(client, cache, held_token='revoked').rotate()
    assert client.calls[:3] == [('get', 'old'), ('validate', 'revoked'), ('newpass', 'token-1')]


# -- newpass refused or never sent ---------------------------------------------------------------


def test_password_policy_rejection_fails_with_api_text_and_keeps_old_password(cache):
    client = FakeClient()
    client.newpass_fault = 'policy'
    with pytest.raises(PasswordRotationError) as raised:
        rotation(client, cache).rotate()
    message = str(raised.value)
    assert 'password must be at least 8 characters' in message
    assert 'current password still works' in message
    assert_no_secret(message)
    assert client.live == OLD
    assert client.actions() == ['get', 'newpass']


def test_newpass_with_rejected_token_fails_clearly(cache):
    client = FakeClient()
    client.newpass_fault = 'invalid_token'
    with pytest.raises(PasswordRotationError) as raised:
        rotation(client, cache).rotate()
    assert 'was not changed' in str(raised.value)
    assert client.live == OLD


def test_newpass_that_never_left_is_not_probed(cache):
    client = FakeClient()
    client.newpass_fault = 'not_sent'
    with pytest.raises(PasswordRotationError) as raised:
        rotation(client, cache).rotate()
    assert 'never reached' in str(raised.value) and 'safe to re-run' in str(raised.value)
    assert client.actions() == ['get', 'newpass']


# -- the reply to newpass is lost ----------------------------------------------------------------


@pytest.mark.parametrize('fault', ['lost_after', 'cut_after'])
def test_lost_reply_after_the_change_ends_knowing_new_password_is_live(cache, fault):
    client = FakeClient()
    client.newpass_fault = fault
    result = rotation(client, cache).rotate()
    assert result.changed
    assert client.live == NEW
    # newpass once, never retried; then get with new_password proves the change (no failed sign-in)
    assert client.calls == [('get', 'old'), ('newpass', 'token-1'), ('get', 'new')]
    assert client.failed_auths == 0
    assert result.token == 'token-1'
    assert cached(cache).token == 'token-1'


def test_lost_reply_before_the_change_reports_current_password_live(cache):
    client = FakeClient()
    client.newpass_fault = 'lost_before'
    with pytest.raises(PasswordRotationError) as raised:
        rotation(client, cache).rotate()
    message = str(raised.value)
    assert 'the change was not applied' in message
    assert 'the current password is still live; safe to re-run' in message
    assert_no_secret(message)
    assert client.calls == [('get', 'old'), ('newpass', 'token-1'), ('get', 'new'), ('get', 'old')]
    assert client.failed_auths == 1
    assert client.actions().count('newpass') == 1


def test_lost_reply_and_neither_password_accepted_says_so(cache):
    client = FakeClient()
    client.newpass_fault = 'lost_before'
    original = client.get_token

    def get_then_someone_else_rotates(username, password, address=None):
        token = original(username, password, address)
        client.live = 'Someone-Elses-3'
        return token

    client.get_token = get_then_someone_else_rotates
    with pytest.raises(PasswordRotationError) as raised:
        rotation(client, cache).rotate()
    assert 'accepted neither the current password nor new_password' in str(raised.value)
    assert_no_secret(str(raised.value))


def test_lost_reply_and_failed_probe_says_to_rerun(cache):
    client = FakeClient()
    client.newpass_fault = 'lost_after'
    client.get_faults = [None, TransportError('could not connect (Connection refused)', maybe_acted=False,
                                              action='get', host=HOST)]
    with pytest.raises(PasswordRotationError) as raised:
        rotation(client, cache).rotate()
    message = str(raised.value)
    assert 'finding out which password is live failed too' in message
    assert 're-run with the same password and new_password' in message
    assert_no_secret(message)


# -- verification after a confirmed change -------------------------------------------------------


def test_confirmed_change_that_did_not_take_is_reported(cache):
    client = FakeClient()
    client.newpass_ok_but_ignored = True
    with pytest.raises(PasswordRotationError) as raised:
        rotation(client, cache).rotate()
    assert 'still accepts only the current password' in str(raised.value)
    assert client.failed_auths == 1


def test_confirmed_change_whose_verification_breaks_says_new_password_is_live(cache):
    client = FakeClient()
    client.get_faults = [None, TransportError('no answer within 30 seconds (timeout)', action='get', host=HOST)]
    with pytest.raises(PasswordRotationError) as raised:
        rotation(client, cache).rotate()
    assert 'new_password should be the live password' in str(raised.value)
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

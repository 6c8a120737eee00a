# -*- coding: utf-8 -*-
# Copyright (c) eightbyeight.contactnow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""PasswordRotation: every branch of contactnow_password against the shared fake token.php.

The fake keeps the account's live password and counts failed authentications, so each test can
say what the API saw, not only what the module reported.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.eightbyeight.contactnow.plugins.module_utils._cache import TokenCache
from ansible_collections.eightbyeight.contactnow.plugins.module_utils._client import (
    ApiError,
    InvalidTokenError,
    ReplyError,
    TransportError,
)
from ansible_collections.eightbyeight.contactnow.plugins.module_utils._options import ConnectionOptions, OptionError
from ansible_collections.eightbyeight.contactnow.plugins.module_utils._password import (
    PasswordRotation,
    PasswordRotationError,
    password_state,
)
from ansible_collections.eightbyeight.contactnow.tests.unit.plugins.fake_api import (
    HOST,
    LATER,
    LIFETIME,
    OTHER_PASSWORD,
    OTHER_USERNAME,
    PASSWORD,
    START,
    USERNAME,
    FakeApi,
    Fault,
)

USER = USERNAME
OLD = PASSWORD
NEW = 'New-Secret-2'
NOW = START
LABELS = {OLD: 'old', NEW: 'new'}


def sent(api):
    """The requests the fake API received: get with the password it was shown, newpass with its token."""
    return [(call.action, LABELS.get(call.password, 'other') if call.action == 'get' else call.token) for call in api.calls]


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


def options(password=OLD, **kwargs):
    return ConnectionOptions(api_url='https://%s' % HOST, username=USER, password=password, **kwargs)


def rotation(api, cache, password=OLD, new_password=NEW):
    return PasswordRotation(options(password), new_password, client=api, cache=cache, now=api.clock)


def failure(api, cache, **kwargs):
    with pytest.raises(PasswordRotationError) as raised:
        rotation(api, cache, **kwargs).rotate()
    assert_no_secret(str(raised.value))
    assert raised.value.result == {'live_password': raised.value.live_password}
    return raised.value


def cached(cache, password=NEW):
    """The account's cache entry as a caller presenting ``password`` (by default the new one) sees it."""
    return cache.read(TokenCache.key('https://%s' % HOST, USER), password)


def assert_no_secret(text):
    assert OLD not in text and NEW not in text


# -- the ordinary rotation -----------------------------------------------------------------------


def test_rotation_changes_verifies_and_returns_token_for_new_password(api, cache):
    result = rotation(api, cache).rotate()
    assert result.changed and result.live_password == 'new'
    assert api.password_of(USER) == NEW
    assert sent(api) == [('get', 'old'), ('newpass', 'token-1'), ('get', 'new')]
    assert api.failed_auths == 0
    assert (result.token, result.expire, result.expires_in) == ('token-1', NOW + LIFETIME, LIFETIME)
    assert result.as_dict()['live_password'] == 'new'
    entry = cached(cache)
    assert (entry.token, entry.expire) == ('token-1', NOW + LIFETIME)
    assert cached(cache, OLD) is None  # obtained under the new password: never handed to the old one


def test_rotation_evicts_the_cached_token_from_before(api, cache):
    key = TokenCache.key('https://%s' % HOST, USER)
    cache.write(key, 'stale-token', NOW + 10, NOW)
    rotation(api, cache).rotate()
    assert cached(cache).token == 'token-1'


def test_rerun_after_rotation_is_idempotent_with_one_failed_auth(api, cache):
    rotation(api, cache).rotate()
    api.forget_calls()
    result = rotation(api, cache).rotate()
    assert not result.changed and result.live_password == 'new'
    assert sent(api) == [('get', 'old'), ('get', 'new')]
    assert api.failed_auths == 1
    assert result.token == 'token-1'


def test_reruns_never_lock_the_account_out(clock, cache):
    """A lockout policy counts failed sign-ins in a row: each run makes at most one, then signs in."""
    api = FakeApi(clock, lockout_after=2)
    rotation(api, cache).rotate()
    for dummy in range(3):
        result = rotation(api, cache).rotate()
        assert not result.changed and result.live_password == 'new'
    assert api.failed_auths == 3


def test_already_rotated_elsewhere_is_no_change(api, cache):
    api.set_password(USER, NEW)
    result = rotation(api, cache).rotate()
    assert not result.changed and result.live_password == 'new'
    assert result.token and result.expire == NOW + LIFETIME
    assert api.failed_auths == 1
    assert api.actions == ['get', 'get']


def test_neither_password_accepted_fails_naming_neither(api, cache):
    api.set_password(USER, 'Someone-Elses-3')
    error = failure(api, cache)
    assert 'accepted neither the current password nor new_password for user alice at %s' % HOST in str(error)
    assert error.live_password == 'unknown'
    assert api.actions == ['get', 'get']
    assert cached(cache) is None


def test_same_password_only_verifies(api, cache):
    result = rotation(api, cache, new_password=OLD).rotate()
    assert not result.changed and result.live_password == 'new'
    assert sent(api) == [('get', 'old')]
    assert result.token == 'token-1'


def test_same_password_refused_fails_after_one_attempt(api, cache):
    api.set_password(USER, 'Someone-Elses-3')
    error = failure(api, cache, password=NEW, new_password=NEW)
    assert api.failed_auths == 1
    assert 'does not accept the password for user alice' in str(error)
    assert error.live_password == 'unknown'


def test_api_unreachable_before_anything_is_sent_is_unknown(api, cache):
    """Nothing was sent, but an earlier run's newpass may have landed: which password is live is not known."""
    api.script('get', TransportError('could not connect (Connection refused)', maybe_acted=False, action='get', host=HOST))
    error = failure(api, cache)
    assert error.live_password == 'unknown'
    assert 'nothing was changed by this run' in str(error)
    assert 'newpass' not in api.actions


# -- check mode and diff -------------------------------------------------------------------------


def test_check_mode_predicts_change_and_sends_no_newpass_or_delete(api, cache):
    result = rotation(api, cache).rotate(check_mode=True)
    assert result.changed
    assert result.live_password == 'current'  # the prediction is in the diff, not in live_password
    assert api.password_of(USER) == OLD
    assert api.actions == ['get']
    assert result.token is None and result.expire is None and result.expires_in is None
    assert cached(cache) is None
    diff = result.as_dict(diff=True)['diff']
    assert diff == {'before': password_state('current'), 'after': password_state('new')}


def test_check_mode_after_rotation_predicts_no_change(api, cache):
    api.set_password(USER, NEW)
    result = rotation(api, cache).rotate(check_mode=True)
    assert not result.changed and result.live_password == 'new'
    assert api.actions == ['get', 'get']
    assert cached(cache) is None


def test_diff_is_data_and_never_shows_a_password(api, cache):
    outcome = rotation(api, cache).rotate().as_dict(diff=True, header='user alice at %s' % HOST)
    assert outcome['diff']['before'] == {'password': 'current', 'account': 'user alice at %s' % HOST}
    assert outcome['diff']['after'] == {'password': 'new', 'account': 'user alice at %s' % HOST}
    assert_no_secret(repr(outcome))


def test_no_diff_unless_asked(api, cache):
    assert 'diff' not in rotation(api, cache).rotate().as_dict()


# -- never another account -----------------------------------------------------------------------


def test_newpass_is_sent_only_with_the_token_get_just_returned_for_this_account(api, cache):
    bobs_token = api.issue(OTHER_USERNAME).token
    key = TokenCache.key('https://%s' % HOST, USER)
    cache.write(key, bobs_token, NOW + LIFETIME, NOW)  # even a poisoned cache entry is never used for newpass
    result = rotation(api, cache).rotate()
    assert result.live_password == 'new'
    newpass_tokens = [call.token for call in api.calls if call.action == 'newpass']
    assert newpass_tokens == ['token-2']
    assert api.tokens['token-2'].username == USER
    assert api.password_of(OTHER_USERNAME) == OTHER_PASSWORD


def test_the_token_option_is_gone(api):
    with pytest.raises(TypeError):
        PasswordRotation(options(), NEW, held_token='bobs', client=api)  # pylint: disable=unexpected-keyword-arg


# -- local state is checked before the irreversible step -----------------------------------------


def test_unusable_cache_sends_no_newpass(api, tmp_path):
    with pytest.raises(PasswordRotationError) as raised:
        rotation(api, BrokenCache(str(tmp_path / 'cache'))).rotate()
    # Not sent by this run, but another run may be sending the same new_password: not provably current.
    assert raised.value.live_password == 'unknown'
    assert 'newpass was not sent' in str(raised.value) and 'cannot be used' in str(raised.value)
    assert api.actions == ['get']
    assert api.password_of(USER) == OLD


def test_cache_failing_after_a_confirmed_change_is_a_warning(api, tmp_path):
    cache = BrokenCache(str(tmp_path / 'cache'), broken_from=1)  # usable for the check, broken afterwards
    result = rotation(api, cache).rotate()
    assert result.changed and result.live_password == 'new'
    assert api.password_of(USER) == NEW
    assert len(result.warnings) == 1 and 'the token could not be cached' in result.warnings[0]
    assert_no_secret(result.warnings[0])
    assert result.as_dict()['warnings'] == result.warnings


# -- newpass refused or never sent ---------------------------------------------------------------


def test_password_policy_rejection_fails_with_api_text_and_keeps_old_password(api, cache):
    api.script('newpass', ApiError('the API answered "Bad argument: password must be at least 8 characters"',
                                   server_text='Bad argument: password must be at least 8 characters',
                                   action='newpass', host=HOST))
    error = failure(api, cache)
    assert 'password must be at least 8 characters' in str(error)
    assert 'current password still works' in str(error)
    # A rule refuses new_password to every run alike; get with it being refused too proves nothing changed.
    assert error.live_password == 'current'
    assert api.password_of(USER) == OLD
    assert sent(api) == [('get', 'old'), ('newpass', 'token-1'), ('get', 'new')]


def test_newpass_refused_by_a_rule_after_another_run_changed_it_is_new(api, cache):
    # "must differ from the current password": another run sending the same new_password got there first.
    api.script('newpass', Fault(ApiError('the API answered "Bad argument: password"', server_text='Bad argument: password',
                                         action='newpass', host=HOST), acted=True))
    result = rotation(api, cache).rotate()
    assert result.live_password == 'new' and result.changed
    assert len(result.warnings) == 1 and 'another run changed the password to it' in result.warnings[0]
    assert_no_secret(result.warnings[0])


def test_newpass_with_a_token_revoked_by_another_runs_change_is_new(api, cache):
    # Two runs resumed the same pending password; the other run's newpass landed first and revoked the token.
    api.script('newpass', Fault(InvalidTokenError('the token is not valid ("Invalid token")', action='newpass', host=HOST),
                                acted=True))
    result = rotation(api, cache).rotate()
    assert result.live_password == 'new' and result.changed
    assert api.password_of(USER) == NEW
    assert sent(api) == [('get', 'old'), ('newpass', 'token-1'), ('get', 'new')]
    assert cached(cache).token == result.token


def test_newpass_with_a_rejected_token_is_unknown_never_current(api, cache):
    # The other run's newpass is still on its way: refused here, not accepted yet, applied later.
    api.script('newpass', Fault(InvalidTokenError('the token is not valid ("Invalid token")', action='newpass', host=HOST),
                                acted=LATER))
    error = failure(api, cache)
    assert 'Invalid token' in str(error) and 'another run may be sending the same new_password' in str(error)
    assert error.live_password == 'unknown'
    api.apply_pending()
    assert api.password_of(USER) == NEW  # "current" would have had the role drop the live password


def test_newpass_that_never_left_is_probed_and_unknown(api, cache):
    api.script('newpass', TransportError('could not connect (Connection refused)', maybe_acted=False,
                                         action='newpass', host=HOST))
    error = failure(api, cache)
    assert 'never left this machine' in str(error) and 'another run may be sending' in str(error)
    assert error.live_password == 'unknown'
    assert sent(api) == [('get', 'old'), ('newpass', 'token-1'), ('get', 'new')]


def test_newpass_that_never_left_while_another_run_changed_it_is_new(api, cache):
    api.script('newpass', TransportError('could not connect (Connection refused)', maybe_acted=False,
                                         action='newpass', host=HOST))
    real_get = api.get_token

    def get_then_other_run_lands(username, password, address=None):
        token = real_get(username, password, address)
        if password == OLD:
            api.set_password(USER, NEW)  # the other run's newpass lands right after
        return token

    api.get_token = get_then_other_run_lands
    result = rotation(api, cache).rotate()
    assert result.live_password == 'new'


# -- the reply to newpass is lost ----------------------------------------------------------------


LOST_REPLIES = {
    'lost_after': TransportError('no answer within 30 seconds (timeout)', action='newpass', host=HOST),
    'cut_after': ReplyError('the answer is cut short', action='newpass', host=HOST),
    'tls_after': TransportError('the connection broke ([SSL: DECRYPTION_FAILED_OR_BAD_RECORD_MAC])', action='newpass', host=HOST),
}


@pytest.mark.parametrize('fault', ['lost_after', 'cut_after', 'tls_after'])
def test_lost_reply_after_the_change_ends_knowing_new_password_is_live(api, cache, fault):
    api.script('newpass', Fault(LOST_REPLIES[fault], acted=True))
    result = rotation(api, cache).rotate()
    assert result.changed and result.live_password == 'new'
    assert api.password_of(USER) == NEW
    # newpass once, never retried; then get with new_password proves the change (no failed sign-in)
    assert sent(api) == [('get', 'old'), ('newpass', 'token-1'), ('get', 'new')]
    assert api.failed_auths == 0
    assert result.token == 'token-1'
    assert cached(cache).token == 'token-1'


def test_lost_reply_before_the_change_is_unknown_not_current(api, cache):
    api.script('newpass', TransportError('the connection broke (reset)', action='newpass', host=HOST))
    error = failure(api, cache)
    assert error.live_password == 'unknown'
    assert 'keep both the current password and new_password' in str(error)
    assert sent(api) == [('get', 'old'), ('newpass', 'token-1'), ('get', 'new')]
    assert api.failed_auths == 1
    # the re-run the message asks for converges (the scripted fault was for one request only)
    result = rotation(api, cache).rotate()
    assert result.changed and result.live_password == 'new'


def test_slow_server_is_unknown_and_a_later_rerun_converges(api, cache):
    """The server applies newpass after the client timed out: the current password working proves nothing."""
    # The server carries the change out after the client has given up waiting.
    api.script('newpass', Fault(TransportError('no answer within 1 seconds (timeout)', action='newpass', host=HOST), acted=LATER))
    error = failure(api, cache)
    assert error.live_password == 'unknown'
    assert 'may still apply the change' in str(error)
    assert api.password_of(USER) == OLD  # still accepted at the time of the probe ...
    api.apply_pending()  # ... and then the server acts
    result = rotation(api, cache).rotate()
    assert not result.changed and result.live_password == 'new'
    assert api.actions.count('newpass') == 1


def test_lost_reply_and_failed_probe_says_to_rerun(api, cache):
    api.script('newpass', Fault(LOST_REPLIES['lost_after'], acted=True))
    api.script('get', None, TransportError('could not connect (Connection refused)', maybe_acted=False,
                                           action='get', host=HOST))
    error = failure(api, cache)
    assert error.live_password == 'unknown'
    assert 'asking the API whether new_password is live failed too' in str(error)
    assert 're-run with the same password and new_password' in str(error)


# -- verification after a confirmed change -------------------------------------------------------


def test_confirmed_change_that_did_not_take_is_unknown(api, cache):
    api.script('newpass', Fault(None))  # "success", yet the server changed nothing
    error = failure(api, cache)
    assert error.live_password == 'unknown'
    assert api.failed_auths == 1


def test_confirmed_change_whose_verification_breaks_is_unknown(api, cache):
    api.script('get', None, TransportError('no answer within 30 seconds (timeout)', action='get', host=HOST))
    error = failure(api, cache)
    assert 'new_password should be the live password' in str(error)
    assert error.live_password == 'unknown'
    assert api.password_of(USER) == NEW


# -- options -------------------------------------------------------------------------------------


@pytest.mark.parametrize('username,password,new_password,needle', [
    (None, OLD, NEW, 'username is required'),
    (USER, None, NEW, 'password (the current password) is required'),
    (USER, OLD, '', 'new_password must not be empty'),
])
def test_missing_options_are_named(api, cache, username, password, new_password, needle):
    opts = ConnectionOptions(api_url='https://%s' % HOST, username=username, password=password)
    with pytest.raises(OptionError) as raised:
        PasswordRotation(opts, new_password, client=api, cache=cache)
    assert needle in str(raised.value)


def test_cache_false_writes_nothing(api, tmp_path):
    cache_dir = tmp_path / 'cache'
    opts = ConnectionOptions(api_url='https://%s' % HOST, username=USER, password=OLD, cache=False)
    result = PasswordRotation(opts, NEW, client=api, cache=TokenCache(str(cache_dir)), now=api.clock).rotate()
    assert result.changed
    assert not cache_dir.exists()

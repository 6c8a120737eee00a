# -*- coding: utf-8 -*-
# Copyright (c) eightbyeight.contactnow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""TokenManager decisions against the shared fake token.php (tokens bound to an address) and clock."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import pytest

from ansible_collections.eightbyeight.contactnow.plugins.module_utils._cache import TokenCache
from ansible_collections.eightbyeight.contactnow.plugins.module_utils._client import (
    ContactNowClient,
    ContactNowError,
    InvalidTokenError,
)
from ansible_collections.eightbyeight.contactnow.plugins.module_utils._options import ConnectionOptions, OptionError
from ansible_collections.eightbyeight.contactnow.plugins.module_utils._token import CacheUnusableError, TokenManager
from ansible_collections.eightbyeight.contactnow.tests.unit.plugins.fake_api import (
    API_URL,
    LIFETIME,
    PASSWORD,
    START,
    USERNAME,
    FakeApi,
)


def sent(api):
    """The requests the fake API received: get with the address it authorises, the others with their token."""
    return [(call.action, call.address if call.action == 'get' else call.token) for call in api.calls]


def options(**overrides):
    values = dict(api_url=API_URL, username=USERNAME, password=PASSWORD)
    values.update(overrides)
    return ConnectionOptions(**values)


def manager(api, cache, clock, address=None, **option_overrides):
    return TokenManager(options(**option_overrides), client=api, cache=cache, address=address, now=clock)


def cache_key(address=None):
    return TokenCache.key(API_URL, USERNAME, address)


def cached(cache, address=None):
    return cache.read(cache_key(address), PASSWORD)


# -- state present ---------------------------------------------------------------------------------


def test_nothing_held_gets_a_token_and_caches_it(api, cache, clock):
    result = manager(api, cache, clock).ensure(min_ttl=300)
    assert api.actions == ['get']
    assert result.changed is True
    assert result.token in api.tokens
    assert result.expire == int(START + LIFETIME)
    assert result.expires_in == LIFETIME
    entry = cached(cache)
    assert (entry.token, entry.expire, entry.checked_at) == (result.token, result.expire, START)


def test_cached_valid_token_is_kept_without_get(api, cache, clock):
    token, expire = api.issue()
    cache.write(cache_key(), token, expire, START - 1000, password=PASSWORD)
    clock.advance(60)
    result = manager(api, cache, clock).ensure(min_ttl=300)
    assert api.actions == ['validate']
    assert (result.changed, result.token, result.expire, result.expires_in) == (False, token, expire, LIFETIME - 60)
    assert cached(cache).checked_at == START + 60  # confirmation recorded


def test_given_valid_token_is_kept_without_get(api, cache, clock):
    token, expire = api.issue()
    result = manager(api, cache, clock).ensure(min_ttl=300, held_token=token)
    assert api.actions == ['validate']
    assert (result.changed, result.token) == (False, token)


def test_given_token_takes_precedence_over_the_cache(api, cache, clock):
    cached_token, expire = api.issue()
    cache.write(cache_key(), cached_token, expire, START, password=PASSWORD)
    given = api.issue()[0]
    result = manager(api, cache, clock).ensure(held_token=given)
    assert sent(api) == [('validate', given)]
    assert result.token == given


def test_expiring_token_get_returns_the_same_so_delete_and_get_again(api, cache, clock):
    token, expire = api.issue(lifetime=200)  # less than min_ttl left
    cache.write(cache_key(), token, expire, START, password=PASSWORD)
    result = manager(api, cache, clock).ensure(min_ttl=300)
    # The cache knows it is too close to expiry: no validate first.
    assert sent(api) == [('get', None), ('delete', token), ('get', None)]
    assert result.changed is True
    assert result.token != token
    assert result.expires_in == LIFETIME
    assert cached(cache).token == result.token
    assert token not in api.tokens


def test_expiring_token_when_get_already_returns_a_new_one(api, cache, clock):
    old, old_expire = api.issue(lifetime=100)
    cache.write(cache_key(), old, old_expire, START, password=PASSWORD)
    clock.advance(101)  # the server now has no valid token: get issues a fresh one
    result = manager(api, cache, clock).ensure(min_ttl=300)
    assert api.actions == ['get']
    assert result.changed is True
    assert result.token != old


def test_expiring_given_token_is_renewed(api, cache, clock):
    token = api.issue(lifetime=10)[0]
    result = manager(api, cache, clock).ensure(min_ttl=300, held_token=token)
    assert api.actions == ['validate', 'get', 'delete', 'get']
    assert result.changed is True


def test_renewal_after_the_clock_moves(api, cache, clock):
    first = manager(api, cache, clock).ensure(min_ttl=3600)
    clock.advance(LIFETIME - 3000)  # 3000 s left, less than min_ttl
    api.forget_calls()
    second = manager(api, cache, clock).ensure(min_ttl=3600)
    assert api.actions == ['get', 'delete', 'get']
    assert second.changed is True
    assert second.token != first.token
    assert second.expires_in == LIFETIME


def test_invalid_cached_token_is_evicted_and_replaced(api, cache, clock):
    cache.write(cache_key(), 'f' * 40, int(START + 999), START, password=PASSWORD)
    result = manager(api, cache, clock).ensure()
    assert api.actions == ['validate', 'get']
    assert result.changed is True
    assert cached(cache).token == result.token


def test_min_ttl_longer_than_any_token_fails_clearly(api, cache, clock):
    with pytest.raises(OptionError) as info:
        manager(api, cache, clock).ensure(min_ttl=LIFETIME + 1)
    # An option problem, said plainly: not "ContactNow get request to ... failed".
    assert str(info.value) == 'a fresh token is valid for only %d seconds, less than min_ttl (%d); lower min_ttl' % (
        LIFETIME, LIFETIME + 1)


def test_get_without_credentials_names_the_missing_option(api, cache, clock):
    with pytest.raises(OptionError, match='password is required'):
        TokenManager(options(password=None), client=api, cache=cache, now=clock).ensure()
    assert api.calls == []


def test_address_is_sent_with_get_and_keys_the_cache(api, cache, clock):
    result = manager(api, cache, clock, address='192.0.2.15').ensure()
    assert sent(api) == [('get', '192.0.2.15')]
    assert cached(cache, '192.0.2.15').token == result.token
    assert cached(cache) is None


def test_token_for_another_address_is_kept_by_a_second_run(api, cache, clock):
    first = manager(api, cache, clock, address='192.0.2.15').ensure()
    api.forget_calls()
    second = manager(api, cache, clock, address='192.0.2.15').ensure()
    # validate cannot vouch for it from here; get hands the address's current token back.
    assert sent(api) == [('validate', first.token), ('get', '192.0.2.15')]
    assert (second.changed, second.token) == (False, first.token)
    assert cached(cache, '192.0.2.15').token == first.token


def test_check_mode_predicts_the_real_run_for_another_address(api, cache, clock):
    first = manager(api, cache, clock, address='192.0.2.15').ensure()
    api.forget_calls()
    predicted = manager(api, cache, clock, address='192.0.2.15').ensure(check_mode=True)
    assert api.actions == ['validate']
    real = manager(api, cache, clock, address='192.0.2.15').ensure()
    assert predicted.changed is False
    assert real.changed is False
    assert predicted.token == real.token == first.token


def test_check_mode_for_another_address_predicts_a_change_when_the_cache_says_it_is_too_short(api, cache, clock):
    manager(api, cache, clock, address='192.0.2.15').ensure()
    clock.advance(LIFETIME - 100)
    predicted = manager(api, cache, clock, address='192.0.2.15').ensure(min_ttl=300, check_mode=True)
    assert predicted.changed is True
    assert predicted.token is None


def test_renewal_for_another_address_fails_with_a_message_that_says_why(api, cache, clock):
    manager(api, cache, clock, address='192.0.2.15').ensure()
    clock.advance(LIFETIME - 100)
    api.forget_calls()
    with pytest.raises(ContactNowError) as info:
        manager(api, cache, clock, address='192.0.2.15').ensure(min_ttl=300)
    message = str(info.value)
    assert '192.0.2.15' in message
    assert 'min_ttl' in message
    assert 'another address' in message
    assert not isinstance(info.value, InvalidTokenError)
    assert api.actions == ['get', 'delete']


# -- idempotence ------------------------------------------------------------------------------------


def test_second_run_is_unchanged_and_sends_only_validate(api, cache, clock):
    first = manager(api, cache, clock).ensure()
    api.forget_calls()
    clock.advance(30)
    second = manager(api, cache, clock).ensure()
    assert api.actions == ['validate']
    assert (second.changed, second.token) == (False, first.token)


# -- check mode -------------------------------------------------------------------------------------


def test_check_mode_with_valid_token_sends_only_validate(api, cache, clock):
    token, expire = api.issue()
    cache.write(cache_key(), token, expire, START - 1000, password=PASSWORD)
    result = manager(api, cache, clock).ensure(check_mode=True)
    assert api.actions == ['validate']
    assert (result.changed, result.token) == (False, token)
    assert cached(cache).checked_at == START - 1000  # check mode writes nothing


def test_check_mode_with_expiring_token_predicts_changed(api, cache, clock):
    token, expire = api.issue(lifetime=100)
    cache.write(cache_key(), token, expire, START, password=PASSWORD)
    result = manager(api, cache, clock).ensure(min_ttl=300, check_mode=True)
    assert api.actions == []  # the cache already says a real run would renew
    assert result.changed is True
    assert result.token is None
    assert token in api.tokens
    assert cached(cache).token == token


def test_check_mode_with_nothing_held_sends_nothing(api, cache, clock):
    result = manager(api, cache, clock).ensure(check_mode=True)
    assert api.calls == []
    assert result.changed is True
    assert cached(cache) is None


def test_check_mode_keeps_an_invalid_cache_entry(api, cache, clock):
    cache.write(cache_key(), 'f' * 40, int(START + 999), START, password=PASSWORD)
    result = manager(api, cache, clock).ensure(check_mode=True)
    assert api.actions == ['validate']
    assert result.changed is True
    assert cached(cache).token == 'f' * 40


def _scenario(name, api, cache, clock):
    """Set up a starting state; returns the held_token argument to use."""
    if name == 'nothing':
        return None
    if name == 'cached_valid':
        cache.write(cache_key(), *api.issue(), checked_at=START, password=PASSWORD)
        return None
    if name == 'cached_expiring':
        cache.write(cache_key(), *api.issue(lifetime=100), checked_at=START, password=PASSWORD)
        return None
    if name == 'cached_invalid':
        cache.write(cache_key(), 'f' * 40, int(START + 999), START, password=PASSWORD)
        return None
    if name == 'given_valid':
        return api.issue()[0]
    if name == 'given_expiring':
        return api.issue(lifetime=100)[0]
    if name == 'given_invalid':
        return 'f' * 40
    raise AssertionError(name)


SCENARIOS = ['nothing', 'cached_valid', 'cached_expiring', 'cached_invalid', 'given_valid', 'given_expiring', 'given_invalid']


@pytest.mark.parametrize('scenario', SCENARIOS)
def test_check_mode_predicts_the_real_change_and_sends_no_get_or_delete(scenario, api, cache, clock):
    held = _scenario(scenario, api, cache, clock)
    predicted = manager(api, cache, clock).ensure(min_ttl=300, held_token=held, check_mode=True)
    assert set(api.actions) <= set(['validate'])
    api.forget_calls()
    real = manager(api, cache, clock).ensure(min_ttl=300, held_token=held)
    assert predicted.changed == real.changed


@pytest.mark.parametrize('scenario', SCENARIOS)
def test_check_mode_of_absent_predicts_the_real_change(scenario, api, cache, clock):
    held = _scenario(scenario, api, cache, clock)
    predicted = manager(api, cache, clock).remove(held_token=held, check_mode=True)
    assert set(api.actions) <= set(['validate'])
    real = manager(api, cache, clock).remove(held_token=held)
    assert predicted.changed == real.changed


# -- state absent -----------------------------------------------------------------------------------


def test_absent_deletes_the_cached_token_then_is_unchanged(api, cache, clock):
    token = manager(api, cache, clock).ensure().token
    api.forget_calls()
    first = manager(api, cache, clock).remove()
    assert sent(api) == [('validate', token), ('delete', token)]
    assert first.changed is True
    assert token not in api.tokens
    assert cached(cache) is None
    api.forget_calls()
    second = manager(api, cache, clock).remove()
    assert second.changed is False
    assert api.calls == []


def test_absent_with_a_given_token_twice(api, cache, clock):
    token = api.issue()[0]
    assert manager(api, cache, clock).remove(held_token=token).changed is True
    api.forget_calls()
    assert manager(api, cache, clock).remove(held_token=token).changed is False
    assert sent(api) == [('validate', token)]


def test_absent_given_token_evicts_the_account_entry(api, cache, clock):
    token = manager(api, cache, clock).ensure().token
    manager(api, cache, clock).remove(held_token=token)
    assert cached(cache) is None


def test_absent_of_an_expired_token_is_unchanged_and_evicts(api, cache, clock):
    token, expire = api.issue(lifetime=10)
    cache.write(cache_key(), token, expire, START, password=PASSWORD)
    clock.advance(11)
    result = manager(api, cache, clock).remove()
    assert result.changed is False
    assert api.actions == ['validate']
    assert cached(cache) is None


def test_absent_check_mode_sends_only_validate_and_keeps_everything(api, cache, clock):
    token = manager(api, cache, clock).ensure().token
    api.forget_calls()
    result = manager(api, cache, clock).remove(check_mode=True)
    assert result.changed is True
    assert api.actions == ['validate']
    assert token in api.tokens
    assert cached(cache).token == token


# -- trust_cache_for (the lookup's fan-out) ------------------------------------------------------------


def _exploding_client():
    """A real client pointed at a closed port: any request would fail loudly."""
    return ContactNowClient(options(api_url='http://127.0.0.1:9', retries=0, timeout=1))


def test_trusted_cache_entry_opens_no_connection(cache, clock):
    cache.write(cache_key(), 'a' * 40, int(START + LIFETIME), START - 10, password=PASSWORD)
    client = _exploding_client()
    mgr = TokenManager(options(), client=client, cache=cache, now=clock)
    result = mgr.ensure(min_ttl=300, trust_cache_for=60)
    assert (result.changed, result.token, result.expires_in) == (False, 'a' * 40, LIFETIME)
    assert client._session is None  # no session, so no connection, was ever made


def test_trusted_default_manager_builds_no_session(cache, clock):
    cache.write(cache_key(), 'a' * 40, int(START + LIFETIME), START - 10, password=PASSWORD)
    mgr = TokenManager(options(), cache=cache, now=clock)
    assert mgr.ensure(trust_cache_for=60).token == 'a' * 40
    assert mgr.client._session is None


def test_trust_window_over_validates_again(api, cache, clock):
    token, expire = api.issue()
    cache.write(cache_key(), token, expire, START - 61, password=PASSWORD)
    result = manager(api, cache, clock).ensure(trust_cache_for=60)
    assert api.actions == ['validate']
    assert result.token == token


def test_trusted_entry_too_close_to_expiry_is_renewed(api, cache, clock):
    token, expire = api.issue(lifetime=100)
    cache.write(cache_key(), token, expire, START, password=PASSWORD)
    result = manager(api, cache, clock).ensure(min_ttl=300, trust_cache_for=60)
    assert api.actions == ['get', 'delete', 'get']
    assert result.changed is True


def test_trust_does_not_apply_to_a_given_token(api, cache, clock):
    cached_token, expire = api.issue()
    cache.write(cache_key(), cached_token, expire, START, password=PASSWORD)
    given = api.issue()[0]
    manager(api, cache, clock).ensure(held_token=given, trust_cache_for=60)
    assert sent(api) == [('validate', given)]


# -- cache: false ---------------------------------------------------------------------------------------


def test_cache_false_touches_no_file(api, clock, tmp_path, monkeypatch):
    monkeypatch.setenv('XDG_CACHE_HOME', str(tmp_path / 'xdg'))
    mgr = TokenManager(options(cache=False), client=api, now=clock)
    assert mgr.cache is None
    first = mgr.ensure()
    assert api.actions == ['get']
    assert first.changed is True
    assert not os.path.exists(str(tmp_path / 'xdg'))


def test_cache_false_ignores_an_existing_entry(api, cache, clock):
    token, expire = api.issue()
    cache.write(cache_key(), token, expire, START, password=PASSWORD)
    mgr = TokenManager(options(cache=False), client=api, cache=cache, now=clock)
    mgr.ensure(trust_cache_for=3600)
    assert api.actions == ['get']  # nothing held: the cache is neither read nor trusted


def test_cache_false_absent_without_token_is_unchanged(api, clock):
    mgr = TokenManager(options(cache=False), client=api, now=clock)
    assert mgr.remove().changed is False
    assert api.calls == []


def test_cache_false_with_given_token_is_idempotent(api, clock):
    mgr = TokenManager(options(cache=False), client=api, now=clock)
    token = mgr.ensure().token
    api.forget_calls()
    again = mgr.ensure(held_token=token)
    assert (again.changed, again.token) == (False, token)
    assert api.actions == ['validate']


def test_unusable_cache_directory_says_how_to_avoid_it(api, clock, tmp_path):
    blocker = tmp_path / 'file'
    blocker.write_text(u'x')
    mgr = TokenManager(options(), client=api, cache=TokenCache(str(blocker / 'sub')), now=clock)
    with pytest.raises(CacheUnusableError) as info:
        mgr.ensure()
    assert 'cache: false' in str(info.value)
    assert str(blocker) in str(info.value)
    assert api.calls == []


# -- inspect (contactnow_token_info) -------------------------------------------------------------------


def test_inspect_valid(api, cache, clock):
    token, expire = api.issue()
    clock.advance(100)
    assert manager(api, cache, clock).inspect(token) == dict(valid=True, expire=expire, expires_in=LIFETIME - 100, error=None)


def test_inspect_invalid(api, cache, clock):
    result = manager(api, cache, clock).inspect('f' * 40)
    assert result['valid'] is False
    assert result['expire'] is None and result['expires_in'] is None
    assert 'Invalid token' in result['error']


def test_inspect_expired(api, cache, clock):
    token = api.issue(lifetime=5)[0]
    clock.advance(6)
    result = manager(api, cache, clock).inspect(token)
    assert result['valid'] is False
    assert 'Expired token' in result['error']


def test_inspect_touches_no_cache(api, cache, clock):
    token = api.issue()[0]
    manager(api, cache, clock).inspect(token)
    assert not os.path.exists(cache.directory)


def test_forget_evicts(api, cache, clock):
    manager(api, cache, clock).ensure()
    manager(api, cache, clock).forget()
    assert cached(cache) is None


# -- min_ttl that no token can meet: fail before deleting what other hosts use ------------------------


def test_min_ttl_above_any_plausible_lifetime_fails_without_delete(api, cache, clock):
    shared, _expire = api.issue()  # the account's valid token, in use by other hosts
    with pytest.raises(OptionError) as info:
        manager(api, cache, clock).ensure(min_ttl=8 * 24 * 3600)
    assert api.actions == ['get']
    assert shared in api.tokens
    # A plain option error: the get worked, the option asks for the impossible.
    assert str(info.value).startswith('min_ttl (691200) is more than any ContactNow token lasts')
    assert 'lower min_ttl' in str(info.value) and 'was kept' in str(info.value)


def test_min_ttl_above_the_lifetime_seen_never_deletes_again(clock, cache):
    api = FakeApi(clock, lifetime=600)
    with pytest.raises(OptionError, match=r'^a fresh token is valid for only 600 seconds, less than min_ttl \(900\)'):
        manager(api, cache, clock).ensure(min_ttl=900)
    # Nothing was known about the lifetime yet: one delete to be issued a new token, which teaches it.
    assert api.actions == ['get', 'delete', 'get']
    first_try = list(api.tokens)

    api.forget_calls()
    with pytest.raises(OptionError, match=r'^min_ttl \(900\) is more than a new token lasts for this account \(600 seconds'):
        manager(api, cache, clock).ensure(min_ttl=900)
    assert 'delete' not in api.actions
    assert list(api.tokens) == first_try


def test_learned_lifetime_is_kept_in_the_cache(clock, cache):
    api = FakeApi(clock, lifetime=600)
    api.issue(lifetime=100)  # an old token close to its end
    with pytest.raises(OptionError):
        manager(api, cache, clock).ensure(min_ttl=900)
    assert api.actions == ['get', 'delete', 'get']
    assert cached(cache).lifetime == 600


def test_min_ttl_above_12_hours_still_renews_when_clocks_disagree(clock, cache):
    # The API's clock an hour ahead of ours: its 12-hour tokens last 13 hours by our clock.
    api = FakeApi(clock, lifetime=LIFETIME + 3600)
    old, _expire = api.issue(lifetime=LIFETIME - 3600)
    result = manager(api, cache, clock).ensure(min_ttl=LIFETIME + 1800)
    assert api.actions == ['get', 'delete', 'get']
    assert result.token != old and result.expires_in == LIFETIME + 3600


def test_a_longer_lifetime_seen_later_replaces_the_one_learned(clock, cache):
    api = FakeApi(clock, lifetime=600)
    api.issue(lifetime=100)
    with pytest.raises(OptionError):
        manager(api, cache, clock).ensure(min_ttl=900)  # learns 600
    api.revoke_all()
    api.lifetime = 1200  # the vendor lengthened tokens
    api.forget_calls()
    result = manager(api, cache, clock).ensure(min_ttl=900)
    assert result.expires_in == 1200
    assert cached(cache).lifetime == 1200


def test_min_ttl_the_lifetime_meets_still_renews(clock, cache):
    api = FakeApi(clock, lifetime=600)
    old, _expire = api.issue(lifetime=100)
    result = manager(api, cache, clock).ensure(min_ttl=500)
    assert api.actions == ['get', 'delete', 'get']
    assert result.token != old and result.expires_in == 600


@pytest.mark.parametrize('min_ttl, trust, name', [(-1, None, 'min_ttl'), ('soon', None, 'min_ttl'), (300, -5, 'revalidate_interval')])
def test_negative_min_ttl_or_interval_is_refused_before_any_request(api, cache, clock, min_ttl, trust, name):
    with pytest.raises(OptionError, match='^%s must be' % name):
        manager(api, cache, clock).ensure(min_ttl=min_ttl, trust_cache_for=trust)
    assert api.calls == []


# -- a cached token only for the credentials it was obtained with --------------------------------------


def test_cached_token_of_another_password_is_a_miss(api, cache, clock):
    token, expire = api.issue()
    cache.write(cache_key(), token, expire, START, password='someone-elses-password')
    result = manager(api, cache, clock).ensure()
    assert api.actions == ['get']  # never validated, never handed out: fetched with our own credentials
    assert result.token == token  # (the API itself returns the account's current token)
    assert cached(cache).token == token


def test_cache_entry_holds_a_keyed_hash_never_the_password(api, cache, clock):
    manager(api, cache, clock).ensure()
    (name,) = [entry for entry in os.listdir(cache.directory) if entry.endswith('.json')]
    with open(os.path.join(cache.directory, name)) as handle:
        text = handle.read()
    assert PASSWORD not in text
    credential = json.loads(text)['credential']
    assert set(credential) == {'hmac'} and len(credential['hmac']) == 64


def test_remember_with_another_password_binds_the_entry_to_it(api, cache, clock):
    token, expire = api.issue()
    manager(api, cache, clock).remember(token, expire, password='the-new-password')
    assert cache.read(cache_key(), PASSWORD) is None
    assert cache.read(cache_key(), 'the-new-password').token == token

# -*- coding: utf-8 -*-
# Copyright (c) eightbyeight.contactnow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests of the contactnow_token lookup: option precedence and the cache decisions.

The API is the shared fake of token.php (tests/unit/plugins/fake_api.py) and the clock is
injected, so these tests are pure logic; the real HTTP path is covered by the integration target.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import multiprocessing
import os
import time

import pytest

from ansible import constants as C
from ansible.errors import AnsibleError
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import lookup_loader
from ansible.template import Templar

from ansible_collections.eightbyeight.contactnow.plugins.module_utils._cache import TokenCache
from ansible_collections.eightbyeight.contactnow.plugins.module_utils._token import TokenManager
from ansible_collections.eightbyeight.contactnow.tests.unit.plugins.fake_api import (
    API_URL,
    HOST,
    LIFETIME,
    OTHER_PASSWORD,
    OTHER_USERNAME,
    PASSWORD,
    START,
    USERNAME,
    FakeApi,
)

try:
    from ansible.template import trust_as_template  # ansible-core >= 2.19 templates trusted strings only
except ImportError:  # pragma: no cover
    def trust_as_template(value):
        return value

LOOKUP = 'eightbyeight.contactnow.contactnow_token'


@pytest.fixture
def fake_client(api):
    """The lookup's TokenManager talks to the fake token.php directly (see conftest.built)."""
    return lambda options: api


@pytest.fixture(autouse=True)
def cache_and_clock(monkeypatch, cache, clock):
    """The trusted-hit check reads the test's cache by the test's clock, as the token managers do."""
    monkeypatch.setattr(lookup_loader.get(LOOKUP).__class__, '_cache_and_clock', lambda self: (TokenCache(cache.directory), clock))


def new_lookup(variables=None):
    """The lookup as Ansible builds it: its templar knows the same variables run() receives."""
    loader = DataLoader()
    return lookup_loader.get(LOOKUP, loader=loader, templar=Templar(loader=loader, variables=variables or {}))


def run(variables=None, **kwargs):
    kwargs.setdefault('username', USERNAME)
    kwargs.setdefault('password', PASSWORD)
    kwargs.setdefault('api_url', API_URL)
    return new_lookup(variables).run([], variables=variables, **kwargs)


def trusted(variables):
    return dict((name, trust_as_template(value) if isinstance(value, str) else value) for name, value in variables.items())


def write_ini(tmp_path, monkeypatch, **values):
    path = tmp_path / 'ansible.cfg'
    path.write_text('[contactnow]\n' + ''.join('%s = %s\n' % item for item in values.items()))
    monkeypatch.setattr(C.config, '_config_file', str(path))


# -- option precedence: keyword > variable > environment > ini > default --------------------------

def options_seen(built, variables=None, **kwargs):
    new_lookup(variables).run([], variables=variables, **kwargs)
    return built[-1].options


def test_defaults(built):
    options = options_seen(built, username='alice', password=PASSWORD)
    assert options.api_url == 'https://api.contactnow.8x8.com'
    assert (options.timeout, options.retries, options.response_format, options.cache) == (30, 3, 'json', True)


def test_ini_beats_default(built, api, tmp_path, monkeypatch):
    api.set_password('ini-user', PASSWORD)  # the account the ini file names
    write_ini(tmp_path, monkeypatch, api_url='https://ini.example.test', timeout=11, username='ini-user')
    options = options_seen(built, password=PASSWORD)
    assert (options.api_url, options.timeout, options.username) == ('https://ini.example.test', 11, 'ini-user')


def test_env_beats_ini(built, api, tmp_path, monkeypatch):
    api.set_password('ini-user', PASSWORD)  # the account the ini file names
    write_ini(tmp_path, monkeypatch, api_url='https://ini.example.test', timeout=11, username='ini-user')
    monkeypatch.setenv('CONTACTNOW_API_URL', 'https://env.example.test')
    monkeypatch.setenv('CONTACTNOW_TIMEOUT', '12')
    options = options_seen(built, password=PASSWORD)
    assert (options.api_url, options.timeout, options.username) == ('https://env.example.test', 12, 'ini-user')


def test_variables_beat_env(built, tmp_path, monkeypatch):
    write_ini(tmp_path, monkeypatch, api_url='https://ini.example.test', timeout=11)
    monkeypatch.setenv('CONTACTNOW_API_URL', 'https://env.example.test')
    monkeypatch.setenv('CONTACTNOW_TIMEOUT', '12')
    variables = trusted(dict(contactnow_api_url='https://vars.example.test', contactnow_timeout=13,
                             contactnow_username='alice', contactnow_password=PASSWORD))
    options = options_seen(built, variables=variables)
    assert (options.api_url, options.timeout) == ('https://vars.example.test', 13)


def test_keywords_beat_variables(built, tmp_path, monkeypatch):
    write_ini(tmp_path, monkeypatch, api_url='https://ini.example.test', timeout=11)
    monkeypatch.setenv('CONTACTNOW_API_URL', 'https://env.example.test')
    variables = trusted(dict(contactnow_api_url='https://vars.example.test', contactnow_timeout=13))
    options = options_seen(built, variables=variables, api_url='https://kwargs.example.test', timeout=14,
                           username='alice', password=PASSWORD)
    assert (options.api_url, options.timeout) == ('https://kwargs.example.test', 14)


def test_lookup_options_follow_the_same_precedence(built, api, tmp_path, monkeypatch):
    write_ini(tmp_path, monkeypatch, min_ttl=100, revalidate_interval=5, address='192.0.2.1')
    lookup = new_lookup()
    lookup.run([], username='alice', password=PASSWORD)
    assert (lookup.get_option('min_ttl'), lookup.get_option('revalidate_interval'), lookup.get_option('address')) == (100, 5, '192.0.2.1')
    monkeypatch.setenv('CONTACTNOW_MIN_TTL', '200')
    lookup.run([], variables=trusted(dict(contactnow_address='192.0.2.2')), username='alice', password=PASSWORD)
    assert (lookup.get_option('min_ttl'), lookup.get_option('address')) == (200, '192.0.2.2')
    assert built[-1].address == '192.0.2.2'
    lookup.run([], variables=trusted(dict(contactnow_min_ttl=250)), min_ttl=301, username='alice', password=PASSWORD)
    assert lookup.get_option('min_ttl') == 301


def test_password_has_no_ini_key(built, tmp_path, monkeypatch):
    write_ini(tmp_path, monkeypatch, password='from-ini-file')
    with pytest.raises(AnsibleError, match='password is required'):
        new_lookup().run([], username='alice')


def test_password_from_env_and_variables(built, api, monkeypatch):
    monkeypatch.setenv('CONTACTNOW_PASSWORD', PASSWORD)
    assert options_seen(built, username='alice', cache=False).password == PASSWORD
    monkeypatch.setenv('CONTACTNOW_PASSWORD', 'wrong-env-password')
    assert options_seen(built, variables=trusted(dict(contactnow_password=PASSWORD)), username='alice', cache=False).password == PASSWORD
    assert api.actions == ['get', 'get']


def test_variables_are_templated(built):
    """Ansible hands lookups raw variables; contactnow_* ones must be rendered."""
    variables = trusted(dict(base_url='https://templated.example.test', who='alice',
                             contactnow_api_url='{{ base_url }}/api', contactnow_username='{{ who }}',
                             contactnow_min_ttl='{{ 60 * 10 }}', contactnow_password=PASSWORD))
    lookup = new_lookup(variables)
    lookup.run([], variables=variables)
    assert built[-1].options.api_url == 'https://templated.example.test/api'
    assert built[-1].options.username == 'alice'
    assert lookup.get_option('min_ttl') == 600


def test_unrelated_variables_are_not_templated(built):
    variables = trusted(dict(broken='{{ undefined_thing.attribute }}', contactnow_username='alice',
                             contactnow_password=PASSWORD))
    assert new_lookup(variables).run([], variables=variables)[0].startswith('token-')


# -- the cache decisions ----------------------------------------------------------------------

def test_miss_sends_one_get_and_fills_the_cache(built, api, cache):
    token = run()[0]
    assert api.actions == ['get']
    assert list(api.tokens) == [token] and api.tokens[token].username == USERNAME
    assert [name for name in os.listdir(cache.directory) if name.endswith('.json')]


def test_hit_within_revalidate_interval_sends_nothing(built, api, clock):
    first = run()[0]
    clock.advance(59)
    assert run()[0] == first
    assert api.actions == ['get']
    assert len(built) == 1, 'a trusted hit is answered without building a token manager'


def test_hit_after_revalidate_interval_validates_once(built, api, clock):
    first = run()[0]
    clock.advance(61)
    assert run()[0] == first
    assert run()[0] == first  # confirmed just now: trusted again
    assert api.actions == ['get', 'validate']


def test_revalidate_interval_zero_validates_every_time(built, api):
    first = run(revalidate_interval=0)[0]
    assert run(revalidate_interval=0)[0] == first
    assert run(revalidate_interval=0)[0] == first
    assert api.actions == ['get', 'validate', 'validate']


def test_token_revoked_elsewhere_is_noticed_after_the_interval(built, api, clock):
    first = run()[0]
    api.revoke_all()
    clock.advance(30)
    assert run()[0] == first, 'within revalidate_interval the cached token is trusted (the documented trade-off)'
    clock.advance(31)
    second = run()[0]
    assert second != first
    assert api.actions == ['get', 'validate', 'get']


def test_expired_token_is_replaced(built, api, clock):
    first = run()[0]
    clock.advance(LIFETIME + 1)
    second = run()[0]
    assert second != first
    assert api.actions == ['get', 'get']  # the cache knows it expired: no validate


def test_min_ttl_renews_a_token_close_to_expiry(built, api, clock):
    first = run()[0]
    clock.advance(LIFETIME - 200)  # 200 s left, min_ttl 300
    second = run()[0]
    # get hands back the current token while valid, so it is deleted and fetched again
    assert api.actions == ['get', 'get', 'delete', 'get']
    assert second != first
    assert api.tokens[second].expire - clock() >= 300


def test_min_ttl_lower_than_what_is_left_keeps_the_token(built, api, clock):
    first = run()[0]
    clock.advance(LIFETIME - 200)
    assert run(min_ttl=100)[0] == first
    assert api.actions == ['get', 'validate']


def test_min_ttl_longer_than_any_token_fails_clearly(built, api):
    with pytest.raises(AnsibleError, match='lower min_ttl'):
        run(min_ttl=LIFETIME + 100)


def test_cache_false_gets_every_time_and_writes_nothing(built, api, cache):
    first = run(cache=False)[0]
    assert run(cache=False)[0] == first  # the API returns the current token
    assert api.actions == ['get', 'get']
    assert not os.path.exists(cache.directory) or not os.listdir(cache.directory)


def test_cache_false_from_variables(built, api):
    run(variables=trusted(dict(contactnow_cache=False)))
    run(variables=trusted(dict(contactnow_cache='no')))
    assert api.actions == ['get', 'get']


def test_accounts_and_addresses_are_cached_apart(built, api):
    run()
    run(address='192.0.2.10')
    run(username=OTHER_USERNAME, password=OTHER_PASSWORD)
    assert api.actions == ['get', 'get', 'get']


def test_details_returns_token_expire_expires_in(built, api, clock):
    token = run()[0]
    clock.advance(30)
    details = run(details=True)[0]  # a trusted hit's answer
    assert details == dict(token=token, expire=int(START + LIFETIME), expires_in=LIFETIME - 30)
    assert len(built) == 1
    clock.advance(70)
    details = run(details=True)[0]  # ensure's answer, after the revalidate interval
    assert details == dict(token=token, expire=int(START + LIFETIME), expires_in=LIFETIME - 100)
    assert len(built) == 2 and api.actions == ['get', 'validate']


# -- errors -----------------------------------------------------------------------------------

def test_authentication_failure_is_one_clean_line(built, api):
    with pytest.raises(AnsibleError) as caught:
        run(password='wrong-password-456', cache=False)
    message = str(caught.value)
    assert 'ContactNow get request to %s failed: the API refused the username or password' % HOST in message
    assert 'wrong-password-456' not in message
    assert '\n' not in message
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_missing_username_names_the_option(built):
    with pytest.raises(AnsibleError, match='username is required'):
        new_lookup().run([], password=PASSWORD)


@pytest.mark.parametrize('missing, given', [('username', dict(password=PASSWORD)), ('password', dict(username=USERNAME))])
def test_a_missing_credential_names_every_place_the_lookup_reads_it(built, missing, given):
    with pytest.raises(AnsibleError) as failure:
        new_lookup().run([], api_url=API_URL, **given)
    assert str(failure.value).endswith('set the {0} option, CONTACTNOW_{1} or the contactnow_{0} variable'
                                       .format(missing, missing.upper()))


def test_bad_api_url(built):
    with pytest.raises(AnsibleError, match='api_url must'):
        run(api_url='ftp://example.test')


@pytest.mark.parametrize('option', ['min_ttl', 'revalidate_interval'])
def test_negative_seconds_are_refused(built, option):
    with pytest.raises(AnsibleError, match='%s must be zero or more' % option):
        run(**{option: -1})


def test_terms_are_refused(built):
    with pytest.raises(AnsibleError, match='takes no terms'):
        new_lookup().run(['username=alice'])


def test_invalid_type_from_env_is_an_ansible_error(built, monkeypatch):
    monkeypatch.setenv('CONTACTNOW_MIN_TTL', 'soon')
    with pytest.raises(AnsibleError, match='min_ttl'):
        run()


# -- fan-out: forked workers share one get -------------------------------------------------------

def _worker(api, cache_dir, results):
    lookup = new_lookup()
    lookup._token_manager = lambda options, address: TokenManager(options, client=api, cache=TokenCache(cache_dir), address=address)
    lookup._cache_and_clock = lambda: (TokenCache(cache_dir), time.time)
    results.put(lookup.run([], username=USERNAME, password=PASSWORD, api_url=API_URL)[0])


def test_forked_workers_send_one_get(cache, tmp_path):
    # One server for every worker: its state is a file, and a slow get leaves time for a race.
    api = FakeApi(time.time, shared_dir=str(tmp_path), get_delay=0.2)
    context = multiprocessing.get_context('fork')
    results = context.Queue()
    workers = [context.Process(target=_worker, args=(api, cache.directory, results)) for dummy in range(12)]
    for worker in workers:
        worker.start()
    tokens = [results.get(timeout=30) for dummy in workers]
    for worker in workers:
        worker.join(timeout=30)
    assert api.actions.count('get') == 1
    assert len(set(tokens)) == 1 and set(tokens) == set(api.tokens)


# -- issue 9: security settings reach the lookup from every source ---------------------------------


def test_errors_are_lookup_errors(built):
    from ansible.errors import AnsibleLookupError
    with pytest.raises(AnsibleLookupError, match='min_ttl must be zero or more'):
        run(min_ttl=-1)


def test_user_info_in_api_url_is_refused(built):
    with pytest.raises(AnsibleError) as caught:
        run(api_url='https://ops:s3cret-pw@api.example.test')
    assert 'must not contain a user name or password' in str(caught.value)
    assert 's3cret-pw' not in str(caught.value)
    assert built == []


def test_plain_http_to_another_host_is_refused_unless_allowed(built, monkeypatch):
    with pytest.raises(AnsibleError, match='clear text'):
        run(api_url='http://api.example.test')
    assert built == []
    monkeypatch.setenv('CONTACTNOW_ALLOW_INSECURE_HTTP', 'true')
    assert run(api_url='http://api.example.test')[0].startswith('token-')
    assert built[-1].options.allow_insecure_http is True


def test_allow_insecure_http_from_a_variable_and_the_ini(built, tmp_path, monkeypatch):
    variables = trusted(dict(contactnow_allow_insecure_http=True))
    assert options_seen(built, variables=variables, api_url='http://10.0.0.5', username='alice',
                        password=PASSWORD).allow_insecure_http is True
    write_ini(tmp_path, monkeypatch, allow_insecure_http='true')
    assert options_seen(built, api_url='http://10.0.0.5', username='alice', password=PASSWORD).allow_insecure_http is True


def test_validate_certs_false_draws_a_warning(built, monkeypatch):
    from ansible_collections.eightbyeight.contactnow.plugins.plugin_utils import _lookup_base as plugin
    warnings = []
    monkeypatch.setattr(plugin.display, 'warning', warnings.append)
    run(validate_certs=False)
    (warning,) = warnings
    assert 'validate_certs is false' in warning and 'contactnow_token lookup' in warning
    run()
    assert len(warnings) == 1


def test_missing_ca_path_is_a_clean_error(built, tmp_path):
    with pytest.raises(AnsibleError, match='^ca_path names no readable CA bundle'):
        run(ca_path=str(tmp_path / 'nope.pem'))

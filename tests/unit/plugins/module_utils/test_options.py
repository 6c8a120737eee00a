# -*- coding: utf-8 -*-
# Copyright (c) eightbyeight.contactnow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""ConnectionOptions: what is refused before any request, what draws a warning, and shared checks."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.eightbyeight.contactnow.plugins.module_utils._options import (
    CONNECTION_OPTION_NAMES,
    ConnectionOptions,
    OptionError,
    connection_argument_spec,
    is_loopback,
    require_seconds,
)

CERT = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'fixtures', 'localhost-cert.pem')


# -- no credentials in the URL ----------------------------------------------------------------------


@pytest.mark.parametrize('api_url', [
    'https://ops:s3cret-pw@api.contactnow.8x8.com',
    'https://ops@api.contactnow.8x8.com/api',
    'http://ops:s3cret-pw@127.0.0.1:8080',
    'https://:s3cret-pw@api-106.dxi.eu/',
])
def test_user_info_in_api_url_is_refused_without_echoing_it(api_url):
    with pytest.raises(OptionError) as info:
        ConnectionOptions(api_url=api_url)
    message = str(info.value)
    assert message.startswith('api_url must not contain a user name or password')
    assert 's3cret-pw' not in message and 'ops' not in message


@pytest.mark.parametrize('api_url', [
    'https://api.contactnow.8x8.com/token.php?password=x',
    'https://api.contactnow.8x8.com/#frag',
])
def test_query_or_fragment_in_api_url_is_refused(api_url):
    with pytest.raises(OptionError, match='without a query string'):
        ConnectionOptions(api_url=api_url)


@pytest.mark.parametrize('api_url', ['https://', 'https:///path', 'https://host:99999', 'https://[::1', 'https://a b/',
                                     'ftp://x', 'api.contactnow.8x8.com', '', None, 42])
def test_malformed_api_url_is_an_option_error(api_url):
    with pytest.raises(OptionError, match='^api_url'):
        ConnectionOptions(api_url=api_url)


# -- no cleartext by accident -----------------------------------------------------------------------


@pytest.mark.parametrize('host', ['127.0.0.1', '127.1.2.3', '[::1]', 'localhost', 'LOCALHOST', 'localhost.', 'app.localhost',
                                  '[::ffff:127.0.0.1]'])
def test_plain_http_to_this_machine_needs_no_opt_in(host):
    options = ConnectionOptions(api_url='http://%s:8080' % host)
    assert options.warnings == []


@pytest.mark.parametrize('host', ['api.contactnow.8x8.com', '10.0.0.5', '192.168.1.1', '[2001:db8::1]', 'localhost.example.com',
                                  '128.0.0.1', '0.0.0.0'])
def test_plain_http_to_another_host_is_refused_saying_why(host):
    with pytest.raises(OptionError) as info:
        ConnectionOptions(api_url='http://%s/api' % host, password='pw')
    message = str(info.value)
    assert 'clear text' in message and 'allow_insecure_http' in message


def test_plain_http_to_another_host_with_the_opt_in_works_and_warns():
    options = ConnectionOptions(api_url='http://10.0.0.5:8080', allow_insecure_http=True)
    assert options.token_url == 'http://10.0.0.5:8080/token.php'
    (warning,) = options.warnings
    assert 'clear text' in warning and '10.0.0.5:8080' in warning


def test_https_needs_no_opt_in_and_draws_no_warning():
    assert ConnectionOptions(api_url='https://api-106.dxi.eu/').warnings == []


@pytest.mark.parametrize('hostname, expected', [
    ('127.0.0.1', True), ('127.255.255.254', True), ('::1', True), ('[::1]', True), ('localhost', True),
    ('128.0.0.1', False), ('::2', False), ('example.com', False), ('', False), (None, False), ('127.0.0.1.nip.io', False),
])
def test_is_loopback(hostname, expected):
    assert is_loopback(hostname) is expected


# -- TLS settings -----------------------------------------------------------------------------------


def test_validate_certs_false_draws_a_warning():
    options = ConnectionOptions(api_url='https://api.contactnow.8x8.com', validate_certs=False)
    (warning,) = options.warnings
    assert warning.startswith('validate_certs is false')
    assert 'ca_path' in warning


def test_missing_ca_path_is_an_option_error(tmp_path):
    with pytest.raises(OptionError) as info:
        ConnectionOptions(api_url='https://api.contactnow.8x8.com', ca_path=str(tmp_path / 'missing.pem'))
    assert str(info.value).startswith('ca_path names no readable CA bundle')
    assert 'missing.pem' not in str(info.value)


def test_existing_ca_path_is_used():
    assert ConnectionOptions(api_url='https://api.contactnow.8x8.com', ca_path=CERT).verify == CERT


def test_ca_path_is_not_checked_when_it_is_not_used(tmp_path):
    missing = str(tmp_path / 'missing.pem')
    assert ConnectionOptions(api_url='https://api.contactnow.8x8.com', ca_path=missing, validate_certs=False).verify is False
    assert ConnectionOptions(api_url='http://127.0.0.1:8080', ca_path=missing).token_url.startswith('http://')


# -- numbers and types ------------------------------------------------------------------------------


@pytest.mark.parametrize('name, value', [
    ('timeout', 0), ('timeout', -1), ('timeout', 'abc'), ('timeout', True), ('timeout', 10 ** 9), ('timeout', 1.5),
    ('retries', -1), ('retries', 'x'), ('retries', 1000), ('validate_certs', 'maybe'), ('cache', 'perhaps'),
    ('allow_insecure_http', 'sometimes'), ('username', 12), ('password', ['x']), ('ca_path', 3),
])
def test_bad_values_are_option_errors_naming_the_option(name, value):
    with pytest.raises(OptionError) as info:
        ConnectionOptions(**{'api_url': 'https://api.contactnow.8x8.com', name: value})
    assert str(info.value).startswith(name)


@pytest.mark.parametrize('name, value, expected', [
    ('timeout', '7', 7), ('timeout', 7.0, 7), ('retries', '0', 0), ('validate_certs', 'no', False),
    ('cache', 'yes', True), ('allow_insecure_http', 'true', True),
])
def test_string_values_from_the_environment_are_accepted(name, value, expected):
    options = ConnectionOptions(**{'api_url': 'https://api.contactnow.8x8.com', name: value})
    assert getattr(options, name) == expected


def test_format_must_be_json_or_xml():
    with pytest.raises(OptionError, match='^format'):
        ConnectionOptions.from_mapping({'format': 'yaml'})


@pytest.mark.parametrize('value', [0, 1, 300, '300', 86400 * 365])
def test_require_seconds_accepts_zero_and_more(value):
    assert require_seconds(value, 'min_ttl') == int(value)


@pytest.mark.parametrize('value', [' 300 ', '+300', '000300', '\t300\n'])
def test_require_seconds_reads_plain_integer_text(value):
    assert require_seconds(value, 'min_ttl') == 300


@pytest.mark.parametrize('value', ['', ' ', '+', '-', '1e9', '1_000', '0x10', '3.0', '\u0663', '\u00b2', '1 0',
                                   '1234567890123456', '++1'])
def test_require_seconds_refuses_other_number_text(value):
    """Only a sign and ASCII digits: no exponent, separator, fraction, non-ASCII digit or 16th digit."""
    with pytest.raises(OptionError, match='^min_ttl must be a whole number'):
        require_seconds(value, 'min_ttl')


@pytest.mark.parametrize('value', [-1, '-5', 'soon', None, True, 1.5])
def test_require_seconds_refuses_negative_and_non_numbers(value):
    with pytest.raises(OptionError, match='^min_ttl must be'):
        require_seconds(value, 'min_ttl')


# -- building ---------------------------------------------------------------------------------------


def test_replaced_gives_a_validated_copy_and_leaves_the_original():
    options = ConnectionOptions(api_url='https://api.contactnow.8x8.com', username='u', password='p')
    without_cache = options.replaced(cache=False)
    assert without_cache.cache is False and options.cache is True
    assert (without_cache.username, without_cache.password, without_cache.api_url) == ('u', 'p', options.api_url)
    with pytest.raises(OptionError):
        options.replaced(timeout=0)


def test_every_option_has_an_environment_fallback():
    spec = connection_argument_spec()
    assert set(spec) == set(CONNECTION_OPTION_NAMES)
    assert spec['allow_insecure_http']['default'] is False
    assert spec['allow_insecure_http']['fallback'][1] == ['CONTACTNOW_ALLOW_INSECURE_HTTP']
    assert spec['password']['no_log'] is True


@pytest.mark.parametrize('api_url, host', [
    ('https://api-106.dxi.eu/api/', 'api-106.dxi.eu'),
    ('https://API.example.test:8443', 'api.example.test:8443'),
    ('http://[::1]:8080/', '[::1]:8080'),
])
def test_host_for_messages(api_url, host):
    assert ConnectionOptions(api_url=api_url).host == host

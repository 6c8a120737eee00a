# -*- coding: utf-8 -*-
# Copyright (c) eightbyeight.contactnow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The hashi_vault store's pure logic: paths, Vault's answers turned into results or one clear message."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.eightbyeight.contactnow.plugins.module_utils import _vault
from ansible_collections.eightbyeight.contactnow.plugins.module_utils._vault import VaultError


def test_api_path_encodes_every_segment_and_trims_slashes():
    assert _vault.api_path('/secret/', 'data', 'contactnow/api user@x') == 'secret/data/contactnow/api%20user%40x'
    assert _vault.api_path('kv', 'data', '/a//b?c#d/') == 'kv/data/a/b%3Fc%23d'
    assert _vault.secret_name('secret/', '/contactnow/u') == 'secret/contactnow/u'


@pytest.mark.parametrize('mount, path', [('secret', ''), ('', 'x'), ('secret', 'contactnow/../sys'), ('.', 'x')])
def test_paths_that_could_point_elsewhere_are_refused(mount, path):
    with pytest.raises(VaultError):
        _vault.api_path(mount, 'data', path)


def test_error_text_joins_vault_errors_scrubs_secrets_and_cuts():
    body = {'errors': ['1 error occurred:\n\t* permission denied\n\n', 'token s.SECRET bad']}
    assert _vault.error_text(body, ['s.SECRET']) == '1 error occurred: * permission denied; token ******** bad'
    assert _vault.error_text({}) == 'no error text'
    assert _vault.error_text({'errors': ['x' * 1000]}).endswith('...')
    assert len(_vault.error_text({'errors': ['x' * 1000]})) == _vault.MAX_ERROR_TEXT + 3


def test_refusal_names_status_vault_text_and_a_hint():
    message = _vault.refusal('writing the Vault secret secret/a failed', 400,
                             {'errors': ['check-and-set parameter required for this call']})
    assert message == ('writing the Vault secret secret/a failed: Vault answered HTTP 400 '
                       '(check-and-set parameter required for this call)')
    assert 'policies' in _vault.refusal('x', 403, {'errors': ['permission denied']})


def kv_mount(version, kind='kv'):
    return {'data': {'type': kind, 'path': 'secret/', 'options': {'version': version} if version else None}}


def test_mount_problem_accepts_kv2_only():
    assert _vault.mount_problem('secret', 'contactnow/u', 200, kv_mount('2')) is None
    assert 'is KV version 1, not a KV version 2 engine' in _vault.mount_problem('secret', 'c/u', 200, kv_mount('1'))
    assert 'is KV version 1' in _vault.mount_problem('secret', 'c/u', 200, kv_mount(None))
    assert 'of type cubbyhole' in _vault.mount_problem('secret', 'c/u', 200, kv_mount(None, 'cubbyhole'))
    denied = _vault.mount_problem('nosuch', 'c/u', 403, {'errors': ['preflight capability check returned 403']})
    assert 'nothing is mounted at nosuch/' in denied and 'HTTP 403' in denied


def read_body(version, data, deletion_time='', destroyed=False):
    return {'data': {'data': data, 'metadata': {'version': version, 'deletion_time': deletion_time, 'destroyed': destroyed}}}


def test_parse_read_of_a_secret_and_of_none():
    assert _vault.parse_read('secret', 'c/u', 200, read_body(3, {'password': 'p'})) == (3, {'password': 'p'})
    # 404 without metadata: the secret never existed; check-and-set 0 creates it.
    assert _vault.parse_read('secret', 'c/u', 404, {'errors': []}) == (0, {})


def test_a_deleted_latest_version_names_the_version_to_undelete():
    with pytest.raises(VaultError) as caught:
        _vault.parse_read('secret', 'contactnow/u', 404, read_body(4, None, deletion_time='2026-12-04T17:20:09Z'))
    assert 'latest version (4)' in str(caught.value)
    assert 'bao kv undelete -mount=secret -versions=4 contactnow/u' in str(caught.value)


def test_a_destroyed_latest_version_says_how_to_recover():
    with pytest.raises(VaultError) as caught:
        _vault.parse_read('secret', 'contactnow/u', 404, read_body(2, None, destroyed=True))
    assert 'latest version (2)' in str(caught.value) and 'destroyed' in str(caught.value)
    assert '-cas=2' in str(caught.value)


def test_parse_read_refusals_carry_status_and_vault_text():
    with pytest.raises(VaultError) as caught:
        _vault.parse_read('secret', 'c/u', 403, {'errors': ['permission denied']}, ['tok'])
    assert 'HTTP 403 (permission denied)' in str(caught.value)
    with pytest.raises(VaultError):
        _vault.parse_read('secret', 'c/u', 200, {'data': {'foo': 'kv v1 answer'}})


def test_text_value_treats_empty_as_none_and_refuses_other_types():
    assert _vault.text_value({'password': ''}, 'password', 's') is None
    assert _vault.text_value({'password': 'x'}, 'password', 's') == 'x'
    with pytest.raises(VaultError):
        _vault.text_value({'password': 5}, 'password', 's')


@pytest.mark.parametrize('url, words', [
    (None, 'vault_url is not set'),
    ('vault.example.com', 'absolute'),
    ('https://user:pw@vault.example.com', 'user name or password'),
    ('http://vault.example.com:8200', 'clear text'),
])
def test_vault_settings_are_checked_before_any_request(url, words):
    with pytest.raises(VaultError) as caught:
        _vault.Vault(url, token='t')
    assert words in str(caught.value)


def test_credentials_are_required_and_loopback_http_is_accepted():
    with pytest.raises(VaultError) as caught:
        _vault.Vault('https://vault.example.com', role_id='r')
    assert 'no Vault credentials' in str(caught.value)
    vault = _vault.Vault('http://127.0.0.1:8200/', token='t', ca_path='/ca.pem')
    assert vault.url == 'http://127.0.0.1:8200' and vault.verify == '/ca.pem'
    assert _vault.Vault('https://v', token='t', validate_certs=False).verify is False


class FakeVault:
    """Vault.read/write on a dict, with check-and-set, for run()."""

    def __init__(self, version=0, secret=None):
        self.version, self.secret, self.writes = version, dict(secret or {}), []

    def read(self, mount, path):
        return self.version, dict(self.secret)

    def write(self, mount, path, secret, cas):
        if cas != self.version:
            return None
        self.writes.append(secret)
        self.version, self.secret = self.version + 1, dict(secret)
        return self.version


@pytest.fixture
def fake(monkeypatch):
    vault = FakeVault()
    monkeypatch.setattr(_vault, 'Vault', lambda *args, **kwargs: vault)
    return vault


def params(**kwargs):
    base = dict((name, spec.get('default')) for name, spec in _vault.ARGUMENT_SPEC.items())
    base.update(vault_url='https://v', vault_token='t', vault_path='contactnow/u', value=None, expected_live=None)
    base.update(kwargs)
    return base


def test_record_pending_is_create_exclusive_and_keeps_the_live_password(fake):
    fake.version, fake.secret = 2, {'password': 'old', 'rotated_at': 'T'}
    result = _vault.run(params(action='record_pending', value='new', version=2), False)
    assert result == dict(changed=True, conflict=False, version=3, live='old')
    assert fake.secret == {'password': 'old', 'rotated_at': 'T', 'pending': 'new'}
    again = _vault.run(params(action='record_pending', value='other', version=3), False)
    assert again['conflict'] is True and again['changed'] is False and fake.version == 3


def test_every_write_is_refused_when_the_version_moved_on(fake):
    fake.version, fake.secret = 5, {'password': 'old'}
    for action in ('record_pending', 'make_live', 'drop_pending'):
        result = _vault.run(params(action=action, value='x', version=4), False)
        assert result['conflict'] is True and result['version'] == 5
    assert fake.writes == []


def test_make_live_writes_rotated_at_and_drops_pending_only_on_the_expected_live(fake):
    fake.version, fake.secret = 3, {'password': 'old', 'pending': 'new'}
    assert _vault.run(params(action='make_live', value='new', version=3, expected_live='other'), False)['conflict'] is True
    result = _vault.run(params(action='make_live', value='new', version=3, expected_live='old'), False)
    assert result['version'] == 4 and fake.secret['password'] == 'new' and 'pending' not in fake.secret
    assert fake.secret['rotated_at'].endswith('Z')


def test_drop_pending_removes_only_this_runs_pending_password(fake):
    fake.version, fake.secret = 3, {'password': 'old', 'pending': 'theirs'}
    result = _vault.run(params(action='drop_pending', value='mine', version=3), False)
    assert result['changed'] is False and result['conflict'] is True and fake.secret['pending'] == 'theirs'
    assert _vault.run(params(action='drop_pending', value='theirs', version=3), False)['changed'] is True
    assert fake.secret == {'password': 'old'}


def test_check_mode_writes_nothing_and_keeps_the_version(fake):
    result = _vault.run(params(action='record_pending', value='new', version=0), True)
    assert result == dict(changed=True, conflict=False, version=0) and fake.writes == []


def test_writes_need_the_version_read(fake):
    with pytest.raises(VaultError) as caught:
        _vault.run(params(action='make_live', value='new'), False)
    assert 'version' in str(caught.value)


def test_the_awx_vault_credential_type_injects_what_the_store_reads():
    import os
    import re

    import yaml

    root = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..')
    with open(os.path.join(root, 'docs', 'awx', 'vault_credential_type.yml'), encoding='utf-8') as handle:
        credential_type = yaml.safe_load(handle)
    with open(os.path.join(root, 'roles', 'rotate_password', 'defaults', 'main.yml'), encoding='utf-8') as handle:
        role_env = set(re.findall(r"lookup\('ansible.builtin.env', '([A-Z_]+)'\)", handle.read()))
    read = set(name for spec in _vault.ARGUMENT_SPEC.values() if 'fallback' in spec for name in spec['fallback'][1])
    injected = set(credential_type['injectors']['env'])
    assert injected <= read | role_env
    # Everything a login needs, and no extra variables (they would show in the job's details).
    assert set(['VAULT_ADDR', 'VAULT_TOKEN', 'VAULT_ROLE_ID', 'VAULT_SECRET_ID', 'VAULT_NAMESPACE', 'VAULT_CACERT']) <= injected
    assert 'extra_vars' not in credential_type['injectors']
    fields = dict((field['id'], field) for field in credential_type['inputs']['fields'])
    for template in list(credential_type['injectors']['env'].values()) + list(credential_type['injectors']['file'].values()):
        assert set(re.findall(r'{[{%]\s*(?:if\s+)?([a-z_]+)', template)) - set(['tower', 'endif']) <= set(fields)
    assert set(name for name, field in fields.items() if field.get('secret')) == set(['token', 'secret_id'])


def test_the_docs_show_exactly_the_policy_the_tests_use():
    import os

    root = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..')

    def rules(text):
        lines = [line.strip() for line in text.splitlines()]
        return [line for line in lines if line and not line.startswith('#') and not line.startswith('..')
                and line not in ('```', '```hcl')]

    with open(os.path.join(root, 'roles', 'rotate_password', 'files', 'vault_policy.hcl'), encoding='utf-8') as handle:
        policy = rules(handle.read())
    assert policy[0] == 'path "secret/data/contactnow/*" {'
    for doc in (('roles', 'rotate_password', 'README.md'), ('docs', 'docsite', 'rst', 'rotation-guide.rst')):
        with open(os.path.join(root, *doc), encoding='utf-8') as handle:
            text = [line.strip() for line in handle.read().splitlines()]
        start = text.index(policy[0])
        assert text[start:start + len(policy)] == policy, doc


def scripted_vault(monkeypatch, answers):
    """A Vault whose requests get the given (status, body) answers in turn; records (method, path, body)."""
    vault = _vault.Vault('https://vault.example.com', token='hvs.a-test-token')
    calls = []

    def call(method, path, body=None, authenticated=True):
        calls.append((method, path, body))
        return answers.pop(0)

    monkeypatch.setattr(vault, '_call', call)
    return vault, calls


def test_a_write_is_check_and_set_and_a_conflict_only_when_the_version_moved_on(monkeypatch):
    vault, calls = scripted_vault(monkeypatch, [
        (400, {'errors': ['check-and-set parameter did not match the current version']}),
        (200, read_body(4, {'password': 'other'})),
    ])
    assert vault.write('secret', 'contactnow/u', {'password': 'p'}, cas=3) is None
    assert calls[0] == ('POST', 'secret/data/contactnow/u', {'options': {'cas': 3}, 'data': {'password': 'p'}})


def test_any_other_refusal_of_a_write_fails_with_vault_text(monkeypatch):
    vault, calls = scripted_vault(monkeypatch, [
        (400, {'errors': ['check-and-set parameter required for this call']}),
        (200, read_body(3, {'password': 'same'})),
    ])
    with pytest.raises(VaultError) as caught:
        vault.write('secret', 'contactnow/u', {'password': 'p'}, cas=3)
    assert 'HTTP 400 (check-and-set parameter required for this call)' in str(caught.value)
    vault, calls = scripted_vault(monkeypatch, [(403, {'errors': ['permission denied']})])
    with pytest.raises(VaultError) as caught:
        vault.write('secret', 'contactnow/u', {'password': 'p'}, cas=3)
    assert 'HTTP 403 (permission denied)' in str(caught.value)
    assert vault.write.__name__ == 'write' and len(calls) == 1

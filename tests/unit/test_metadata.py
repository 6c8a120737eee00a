# -*- coding: utf-8 -*-
# Copyright (c) eightbyeight.contactnow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The collection's metadata agrees with itself.

- the version in the User-Agent is galaxy.yml's;
- every connection option in plugins/module_utils/_options.py is documented in the ``connection``
  doc fragment with the same type, default, environment variable, ini key and variable name, and
  the fragment documents nothing else;
- the AWX credential type (docs/awx/credential_type.yml) injects exactly the credential-shaped
  environment variables the plugins and the collection playbook read, from fields it defines;
- one author string everywhere.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ast
import os
import re

import pytest
import yaml

from ansible.module_utils.common.validation import check_type_bool
from jinja2.sandbox import ImmutableSandboxedEnvironment

from ansible_collections.eightbyeight.contactnow.plugins.doc_fragments.connection import ModuleDocFragment
from ansible_collections.eightbyeight.contactnow.plugins.module_utils import _client, _options

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
AUTHOR = 'ContactNow collection maintainers (@eightbyeight)'

# Read by the plugins or the playbook, but deliberately not part of the AWX credential: tuning
# (timeouts, retries, response format, the cache) and where the store is, which a job template
# sets as extra variables. A new environment variable must be injected or listed here.
NOT_CREDENTIAL_ENV = frozenset([
    'CONTACTNOW_TIMEOUT',
    'CONTACTNOW_RETRIES',
    'CONTACTNOW_FORMAT',
    'CONTACTNOW_CACHE',
    # A deliberate, per-job decision to accept clear text, not part of the account.
    'CONTACTNOW_ALLOW_INSECURE_HTTP',
    'CONTACTNOW_ROTATE_STORE',
    'CONTACTNOW_ROTATE_STORE_PATH',
    'CONTACTNOW_ROTATE_STORE_TASKS',
])
# Credential fields that hold secrets.
SECRET_FIELDS = frozenset(['password', 'store_vault_password'])


def _load_yaml(*parts):
    with open(os.path.join(ROOT, *parts), encoding='utf-8') as f:
        return yaml.safe_load(f)


def _read(*parts):
    with open(os.path.join(ROOT, *parts), encoding='utf-8') as f:
        return f.read()


@pytest.fixture(scope='module')
def galaxy():
    return _load_yaml('galaxy.yml')


@pytest.fixture(scope='module')
def fragment_docs():
    return yaml.safe_load(ModuleDocFragment.DOCUMENTATION)['options']


@pytest.fixture(scope='module')
def fragment_sources():
    return yaml.safe_load(ModuleDocFragment.PLUGINS)['options']


@pytest.fixture(scope='module')
def credential_type():
    return _load_yaml('docs', 'awx', 'credential_type.yml')


def plugin_env_vars():
    return set(env_var for _spec, env_var in _options._CONNECTION_OPTIONS.values())


def playbook_env_vars():
    """Environment variables the collection playbook reads with the env lookup."""
    text = _read('playbooks', 'rotate_password.yml')
    names = set(re.findall(r"""lookup\(\s*['"](?:ansible\.builtin\.)?env['"]\s*,\s*['"]([A-Z0-9_]+)['"]""", text))
    assert names, 'found no env lookups in playbooks/rotate_password.yml: has the way it reads settings changed?'
    return names


# ---- version ---------------------------------------------------------------------------------

def test_user_agent_version_is_galaxy_version(galaxy):
    assert _client.COLLECTION_VERSION == galaxy['version']
    assert _client.USER_AGENT == 'eightbyeight.contactnow/%s' % galaxy['version']


def test_requires_ansible_matches_the_tested_range():
    runtime = _load_yaml('meta', 'runtime.yml')
    assert runtime['requires_ansible'] == '>=2.19.0'
    assert 'ansible-core 2.19 or newer' in _read('README.md')


# ---- connection options: _options.py against the doc fragment ----------------------------------

def test_fragment_documents_exactly_the_connection_options(fragment_docs, fragment_sources):
    assert set(fragment_docs) == set(_options.CONNECTION_OPTION_NAMES)
    assert set(fragment_sources) == set(_options.CONNECTION_OPTION_NAMES)


@pytest.mark.parametrize('name', _options.CONNECTION_OPTION_NAMES)
def test_option_spec_matches_fragment(name, fragment_docs):
    spec, env_var = _options._CONNECTION_OPTIONS[name]
    doc = fragment_docs[name]
    assert doc.get('type') == spec['type']
    assert doc.get('default') == spec.get('default')
    assert doc.get('choices') == spec.get('choices')
    description = ' '.join(doc['description'])
    assert 'E(%s)' % env_var in description, 'the description of %s should name E(%s)' % (name, env_var)


@pytest.mark.parametrize('name', _options.CONNECTION_OPTION_NAMES)
def test_option_sources_match_fragment(name, fragment_sources):
    spec, env_var = _options._CONNECTION_OPTIONS[name]
    sources = fragment_sources[name]
    assert [entry['name'] for entry in sources['env']] == [env_var]
    assert [entry['name'] for entry in sources['vars']] == ['contactnow_%s' % name]
    if spec.get('no_log'):
        # A secret never comes from ansible.cfg.
        assert 'ini' not in sources
    else:
        assert sources['ini'] == [{'section': 'contactnow', 'key': name}]


def test_argument_spec_falls_back_to_the_same_env_vars():
    spec = _options.connection_argument_spec()
    for name, (_option_spec, env_var) in _options._CONNECTION_OPTIONS.items():
        assert spec[name]['fallback'][1] == [env_var]


# ---- the AWX credential type ---------------------------------------------------------------------

def test_credential_type_injects_exactly_the_credential_env_vars(credential_type):
    read = plugin_env_vars() | playbook_env_vars()
    injected = set(credential_type['injectors']['env'])
    assert injected == read - NOT_CREDENTIAL_ENV
    assert NOT_CREDENTIAL_ENV <= read, 'NOT_CREDENTIAL_ENV names a variable nothing reads: %s' % sorted(NOT_CREDENTIAL_ENV - read)


def test_credential_type_injectors_use_only_its_fields(credential_type):
    fields = dict((field['id'], field) for field in credential_type['inputs']['fields'])
    for env_var, template in credential_type['injectors']['env'].items():
        used = set(re.findall(r'{{\s*([a-z_]+)', template))
        assert used, '%s injects no field' % env_var
        assert used <= set(fields), '%s uses undefined fields %s' % (env_var, sorted(used - set(fields)))
    assert set(credential_type['inputs']['required']) <= set(fields)
    for field_id, field in fields.items():
        assert bool(field.get('secret')) == (field_id in SECRET_FIELDS), field_id


@pytest.mark.parametrize('inputs, verified', [({}, True), ({'skip_tls_verify': False}, True), ({'skip_tls_verify': True}, False)])
def test_credential_type_verifies_tls_unless_told_not_to(credential_type, inputs, verified):
    # Rendered as AWX renders injectors: a sandboxed Jinja environment without Ansible's filters, in
    # which a boolean field the credential leaves unset is False whatever its default.
    namespace = dict((field['id'], False) for field in credential_type['inputs']['fields'] if field['type'] == 'boolean')
    namespace.update(inputs)
    rendered = ImmutableSandboxedEnvironment().from_string(credential_type['injectors']['env']['CONTACTNOW_VALIDATE_CERTS']).render(**namespace)
    assert check_type_bool(rendered) is verified


def test_credential_type_is_what_awx_accepts(credential_type):
    # Custom credential types are kind cloud or net; awx.awx.credential_type takes these keys.
    assert credential_type['kind'] in ('cloud', 'net')
    assert set(credential_type) == set(['name', 'description', 'kind', 'inputs', 'injectors'])
    # Injected values must not leak into extra vars, where they would show in the job's details.
    assert set(credential_type['injectors']) == set(['env'])


# ---- one author string -------------------------------------------------------------------------

def _plugin_files():
    for directory in ('modules', 'lookup'):
        path = os.path.join(ROOT, 'plugins', directory)
        for name in sorted(os.listdir(path)):
            if name.endswith('.py') and not name.startswith('_'):
                yield os.path.join('plugins', directory, name)


def _documentation(path):
    tree = ast.parse(_read(path))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, 'id', None) == 'DOCUMENTATION' for t in node.targets):
            return yaml.safe_load(node.value.value)
    raise AssertionError('%s has no DOCUMENTATION' % path)


def test_one_author_string(galaxy):
    assert galaxy['authors'] == [AUTHOR]
    role_meta = _load_yaml('roles', 'rotate_password', 'meta', 'main.yml')
    assert role_meta['galaxy_info']['author'] == AUTHOR
    plugins = list(_plugin_files())
    assert plugins
    for path in plugins:
        assert _documentation(path)['author'] == [AUTHOR], path

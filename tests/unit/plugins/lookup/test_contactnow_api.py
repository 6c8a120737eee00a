# -*- coding: utf-8 -*-
# Copyright (c) eightbyeight.contactnow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests of the contactnow_api lookup: records out, one get for many evaluations, clean errors.

The server is test_api's in-memory fake behind the real client; the forked fan-out over many
hosts is covered by the integration target lookup_contactnow_api.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import atexit
import os
import shutil
import tempfile

import pytest


def _install_collection_loader():
    """Outside ansible-test (plain pytest), make this checkout importable as the collection."""
    from ansible.utils.collection_loader import AnsibleCollectionConfig
    if AnsibleCollectionConfig.collection_finder is not None:  # ansible-test installs its own
        return
    collection = os.path.abspath(__file__)
    for dummy in range(5):  # .../contactnow/tests/unit/plugins/lookup/<this file>
        collection = os.path.dirname(collection)
    if collection.split(os.sep)[-3:] == ['ansible_collections', 'eightbyeight', 'contactnow']:
        root = os.path.dirname(os.path.dirname(os.path.dirname(collection)))
    else:
        root = tempfile.mkdtemp(prefix='contactnow-units-')
        atexit.register(shutil.rmtree, root, True)
        os.makedirs(os.path.join(root, 'ansible_collections', 'eightbyeight'))
        os.symlink(collection, os.path.join(root, 'ansible_collections', 'eightbyeight', 'contactnow'))
    from ansible.plugins.loader import init_plugin_loader
    init_plugin_loader([root])


_install_collection_loader()

from ansible.errors import AnsibleLookupError  # noqa: E402
from ansible.parsing.dataloader import DataLoader  # noqa: E402
from ansible.plugins.loader import lookup_loader  # noqa: E402
from ansible.template import Templar  # noqa: E402

from ansible_collections.eightbyeight.contactnow.plugins.module_utils._cache import TokenCache  # noqa: E402
from ansible_collections.eightbyeight.contactnow.plugins.module_utils._client import ContactNowClient, RetryPolicy  # noqa: E402
from ansible_collections.eightbyeight.contactnow.plugins.module_utils._token import TokenManager  # noqa: E402
from ansible_collections.eightbyeight.contactnow.tests.unit.plugins.clock import Clock  # noqa: E402
from ansible_collections.eightbyeight.contactnow.tests.unit.plugins.module_utils.test_api import (  # noqa: E402
    API_URL,
    PASSWORD,
    START,
    USERNAME,
    FakeServer,
)

LOOKUP = 'eightbyeight.contactnow.contactnow_api'


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch, tmp_path):
    for name in list(os.environ):
        if name.startswith('CONTACTNOW_'):
            monkeypatch.delenv(name)
    monkeypatch.setenv('XDG_CACHE_HOME', str(tmp_path / 'xdg'))


@pytest.fixture
def server():
    return FakeServer(Clock(START))


@pytest.fixture
def built(monkeypatch, server, tmp_path):
    managers = []

    def token_manager(self, options, address):
        client = ContactNowClient(options, session=server, retry_policy=RetryPolicy(options.retries, sleep=lambda s: None))
        manager = TokenManager(options, client=client, cache=TokenCache(str(tmp_path / 'cache')), address=address,
                               now=server.clock)
        managers.append(manager)
        return manager

    monkeypatch.setattr(lookup_loader.get(LOOKUP).__class__, '_token_manager', token_manager)
    return managers


def run(*terms, **kwargs):
    loader = DataLoader()
    lookup = lookup_loader.get(LOOKUP, loader=loader, templar=Templar(loader=loader, variables={}))
    kwargs.setdefault('username', USERNAME)
    kwargs.setdefault('password', PASSWORD)
    kwargs.setdefault('api_url', API_URL)
    return lookup.run(list(terms), variables={}, **kwargs)


def test_returns_the_records(built, server):
    assert run(script='database', method='campaigns', params={'type': 'inbound'}) == \
        [{'id': '2', 'name': 'Inbound support', 'type': 'inbound'}]
    assert server.requests[-1]['form']['type'] == 'inbound'


def test_many_evaluations_send_one_get(built, server):
    for dummy in range(20):
        assert len(run(script='database', method='campaigns')) == 2
    assert server.actions.count(('token.php', 'get')) == 1
    assert server.actions.count(('database.php', 'read')) == 20


def test_xml_gives_the_same_records(built, server):
    assert run(script='database', method='campaigns', format='xml') == run(script='database', method='campaigns')


def test_an_expired_token_is_renewed_once(built, server):
    run(script='database', method='campaigns')
    server.expire_all()
    assert len(run(script='database', method='campaigns')) == 2
    assert server.actions[2:] == [('database.php', 'read'), ('token.php', 'get'), ('database.php', 'read')]


def test_terms_are_refused(built):
    with pytest.raises(AnsibleLookupError, match='takes no terms'):
        run('campaigns', script='database', method='campaigns')


def test_an_api_error_is_one_line_without_the_token(built, server, monkeypatch):
    run(script='database', method='campaigns')
    monkeypatch.setattr(server, '_records', lambda script, args, body: dict(success=False, error='Bad argument: qid'))
    with pytest.raises(AnsibleLookupError) as failure:
        run(script='database', method='campaigns', params={'qid': 'x'})
    message = str(failure.value)
    assert 'ContactNow database.php campaigns read request to api.example.test failed: the API answered "Bad argument: qid"' in message
    assert not [token for token in server.tokens if token in message]
    assert failure.value.__cause__ is None

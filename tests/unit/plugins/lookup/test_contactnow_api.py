# -*- coding: utf-8 -*-
# Copyright (c) eightbyeight.contactnow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests of the contactnow_api lookup: records out, one get for many evaluations, clean errors.

The server is fake_api.FakeServer behind the real client; the forked fan-out over many
hosts is covered by the integration target lookup_contactnow_api.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible.errors import AnsibleLookupError
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import lookup_loader
from ansible.template import Templar

from ansible_collections.eightbyeight.contactnow.tests.unit.plugins.fake_api import API_URL, PASSWORD, USERNAME, client_over

LOOKUP = 'eightbyeight.contactnow.contactnow_api'


@pytest.fixture
def fake_client(server):
    """The real client over the fake server (see conftest.built)."""
    return lambda options: client_over(server, options)


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

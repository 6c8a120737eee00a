# -*- coding: utf-8 -*-
# Copyright (c) eightbyeight.contactnow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""ApiCall (contactnow_api) over the real client, against an in-memory server with the API's semantics.

The fake is fake_api.FakeServer, a session (the client's transport interface, ``post()``): token.php
(get) and a records API on the other scripts, with the token rules, JSON or XML replies, and
scripted faults per action.  So these tests also pin down
what goes on the wire: reads in the POST form, writes as a JSON body with the arguments in the
query string, and the token in no message.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import socket

import pytest

from ansible_collections.eightbyeight.contactnow.plugins.module_utils._api import (
    ApiCall,
    WriteOutcomeUnknown,
    check_request,
    form_values,
)
from ansible_collections.eightbyeight.contactnow.plugins.module_utils._client import ContactNowError
from ansible_collections.eightbyeight.contactnow.plugins.module_utils._decode import decode_reply, normalise_reply, records_of
from ansible_collections.eightbyeight.contactnow.plugins.module_utils._options import ConnectionOptions, OptionError
from ansible_collections.eightbyeight.contactnow.plugins.module_utils._cache import TokenCache
from ansible_collections.eightbyeight.contactnow.plugins.module_utils._token import TokenManager
from ansible_collections.eightbyeight.contactnow.tests.unit.plugins.fake_api import (
    API_URL,
    LIFETIME,
    PASSWORD,
    USERNAME,
    client_over,
    refused,
    render,
    reset,
    response,
)


def api_call(server, cache, clock, **overrides):
    options = ConnectionOptions(**dict(dict(api_url=API_URL, username=USERNAME, password=PASSWORD), **overrides))
    return ApiCall(options, manager=TokenManager(options, client=client_over(server, options), cache=cache, now=clock))


def tokens_in(server, text):
    return [token for token in server.tokens if token in text]


# -- reads -----------------------------------------------------------------------------------------


def test_read_sends_every_argument_in_the_post_form(server, cache, clock):
    result = api_call(server, cache, clock).run('database', 'campaigns', params={'type': 'outbound'})
    assert server.actions == [('token.php', 'get'), ('database.php', 'read')]
    read = server.requests[1]
    assert read['url'] == API_URL + '/database.php'
    assert read['query'] == {}
    assert read['form'] == dict(type='outbound', token=list(server.tokens)[0], method='campaigns', action='read', format='json')
    assert result.changed is False
    assert result.as_dict() == dict(
        changed=False, success=True, total=1, records=[{'id': '1', 'name': 'Spring renewals', 'type': 'outbound'}],
        response=dict(success=True, total=1, list=[{'id': '1', 'name': 'Spring renewals', 'type': 'outbound'}]))


def test_a_cached_token_is_used_without_validate(server, cache, clock):
    api_call(server, cache, clock).run('database', 'campaigns')
    api_call(server, cache, clock).run('database', 'campaigns')
    assert server.actions == [('token.php', 'get'), ('database.php', 'read'), ('database.php', 'read')]


def test_json_and_xml_replies_give_identical_results(server, cache, clock):
    as_json = api_call(server, cache, clock).run('database', 'campaigns').as_dict()
    as_xml = api_call(server, cache, clock, response_format='xml').run('database', 'campaigns').as_dict()
    assert as_json == as_xml
    assert len(as_json['records']) == 2


@pytest.mark.parametrize('expired_reply', [
    dict(success=False, error='Expired token', expire=-1),
    dict(success=False, expire=-1),  # the other APIs may say it with expire -1 alone
], ids=['error-text', 'expire-only'])
def test_an_expired_token_is_renewed_and_the_read_resent_once(server, cache, clock, expired_reply):
    server.expired_reply = expired_reply
    api_call(server, cache, clock).run('database', 'campaigns')
    old = list(server.tokens)[0]
    server.expire_all()
    result = api_call(server, cache, clock).run('database', 'campaigns')
    assert server.actions[2:] == [('database.php', 'read'), ('token.php', 'get'), ('database.php', 'read')]
    assert server.requests[-1]['form']['token'] != old
    assert result.as_dict()['total'] == 2
    renewed = server.requests[-1]['form']['token']
    api_call(server, cache, clock).run('database', 'campaigns')  # the renewed token was cached
    assert server.actions[5:] == [('database.php', 'read')] and server.requests[-1]['form']['token'] == renewed


def test_a_token_refused_twice_fails_without_naming_it(server, cache, clock, monkeypatch):
    call = api_call(server, cache, clock)
    monkeypatch.setattr(server, '_records', lambda script, args, body: dict(success=False, error='Invalid token'))
    with pytest.raises(ContactNowError) as failure:
        call.run('database', 'campaigns')
    message = str(failure.value)
    assert 'refused a token it had just issued' in message
    assert message.startswith('ContactNow database.php campaigns read request to api.example.test failed')
    assert tokens_in(server, message) == [] and PASSWORD not in message
    assert server.actions.count(('database.php', 'read')) == 2


def test_a_read_is_retried_on_a_lost_reply(server, cache, clock):
    server.fault('read', reset(), after=True)
    result = api_call(server, cache, clock).run('database', 'campaigns')
    assert server.actions.count(('database.php', 'read')) == 2
    assert result.as_dict()['total'] == 2


def test_the_other_apis_answers_may_exceed_the_token_php_bound(server, cache, clock):
    answer = server._records

    def records(script, args, body):
        reply = answer(script, args, body)
        reply['padding'] = 'p' * (2 * 64 * 1024)  # twice what a token.php answer may be
        return reply

    server._records = records
    assert api_call(server, cache, clock).run('database', 'campaigns').as_dict()['total'] == 2


def test_a_read_runs_in_check_mode(server, cache, clock):
    result = api_call(server, cache, clock).run('database', 'campaigns', check_mode=True)
    assert server.actions[-1] == ('database.php', 'read')
    assert result.as_dict()['total'] == 2


def cached_entry(cache):
    return cache.read(TokenCache.key(API_URL, USERNAME), PASSWORD)


def test_check_mode_never_renews_a_short_token_that_other_hosts_hold(server, cache, clock):
    api_call(server, cache, clock).run('database', 'campaigns')
    token = next(iter(server.tokens))
    clock.advance(LIFETIME - 100)  # valid, but below min_ttl (300): a real run would get, delete, get
    server.requests[:] = []
    result = api_call(server, cache, clock).run('database', 'campaigns', min_ttl=300, check_mode=True)
    assert server.actions == [('database.php', 'read')]
    assert server.requests[0]['form']['token'] == token
    assert token in server.tokens and result.as_dict()['total'] == 2


def test_check_mode_without_a_cached_token_sends_get_and_writes_no_cache(server, cache, clock):
    result = api_call(server, cache, clock).run('database', 'campaigns', check_mode=True)
    assert server.actions == [('token.php', 'get'), ('database.php', 'read')]
    assert result.as_dict()['total'] == 2
    assert cached_entry(cache) is None


def test_check_mode_after_a_refused_cached_token_gets_one_without_delete(server, cache, clock):
    api_call(server, cache, clock).run('database', 'campaigns')
    stale = next(iter(server.tokens))
    server.token_php.revoke_all()  # deleted elsewhere
    server.requests[:] = []
    api_call(server, cache, clock).run('database', 'campaigns', check_mode=True)
    assert server.actions == [('database.php', 'read'), ('token.php', 'get'), ('database.php', 'read')]
    assert cached_entry(cache).token == stale  # check mode leaves the cache alone


def test_every_token_sent_is_known_to_the_caller_for_masking(server, cache, clock):
    call = api_call(server, cache, clock)
    call.run('database', 'campaigns')
    assert call.tokens_sent == set(server.tokens)


# -- writes ----------------------------------------------------------------------------------------


def test_create_sends_the_records_as_a_json_body_and_the_arguments_in_the_query(server, cache, clock):
    result = api_call(server, cache, clock).run('ecnow', 'ecnow_records', 'create', params={'campaign': 7},
                                                data={'name': 'Ada', 'HomePhone': 1632960001})
    create = server.requests[-1]
    token = list(server.tokens)[0]
    assert create['url'] == API_URL + '/ecnow.php'
    assert create['query'] == dict(campaign='7', token=token, method='ecnow_records', action='create', format='json')
    assert create['headers']['Content-Type'] == 'application/json'
    assert json.loads(create['body'].decode('utf-8')) == [{'name': 'Ada', 'HomePhone': 1632960001}]
    assert result.changed is True
    assert result.as_dict() == dict(changed=True, success=True, total=1, records=[],
                                    response=dict(success=True, total=1, key='11', list=[]))


def test_update_and_delete_that_write_nothing_report_no_change(server, cache, clock):
    call = api_call(server, cache, clock)
    assert call.run('database', 'campaigns', 'update', data=[{'id': 1, 'name': 'Renewals'}]).changed is True
    assert call.run('database', 'campaigns', 'update', data=[{'id': 1, 'name': 'Renewals'}]).changed is False
    assert call.run('database', 'campaigns', 'delete', data=[{'id': 1}]).changed is True
    assert call.run('database', 'campaigns', 'delete', data=[{'id': 1}]).changed is False


def test_check_mode_sends_no_write_and_predicts_a_change(server, cache, clock):
    result = api_call(server, cache, clock).run('ecnow', 'ecnow_records', 'create', data=[{'name': 'Ada'}], check_mode=True)
    assert server.requests == []
    assert result.as_dict() == dict(changed=True)


def test_an_expired_token_on_a_write_is_renewed_and_the_write_resent_once(server, cache, clock):
    api_call(server, cache, clock).run('database', 'campaigns')
    server.expire_all()
    result = api_call(server, cache, clock).run('ecnow', 'ecnow_records', 'create', data=[{'name': 'Ada'}])
    assert server.actions[2:] == [('ecnow.php', 'create'), ('token.php', 'get'), ('ecnow.php', 'create')]
    assert len(server.rows[('ecnow', 'ecnow_records')]) == 1
    assert result.changed is True


@pytest.mark.parametrize('lost', [reset(), socket.timeout('timed out')])
def test_a_write_whose_reply_is_lost_is_not_resent(server, cache, clock, lost):
    server.fault('create', lost, after=True)
    with pytest.raises(WriteOutcomeUnknown) as failure:
        api_call(server, cache, clock).run('ecnow', 'ecnow_records', 'create', data=[{'name': 'Ada'}])
    message = str(failure.value)
    assert server.actions.count(('ecnow.php', 'create')) == 1
    assert len(server.rows[('ecnow', 'ecnow_records')]) == 1  # it was written
    assert message.startswith('ContactNow ecnow.php ecnow_records create request to api.example.test failed: ')
    assert 'may have carried out the create before the reply was lost, so it was not resent' in message
    assert 'read the records back' in message
    assert '\n' not in message and tokens_in(server, message) == [] and PASSWORD not in message


def test_a_write_answered_with_http_500_is_not_resent(server, cache, clock):
    server.fault('create', response(b'<html><title>500</title></html>', 500), after=True)
    with pytest.raises(WriteOutcomeUnknown) as failure:
        api_call(server, cache, clock).run('ecnow', 'ecnow_records', 'create', data=[{'name': 'Ada'}])
    assert 'the server answered HTTP 500' in str(failure.value)
    assert 'the server may have carried out the create before the reply was lost' in str(failure.value)
    assert server.actions.count(('ecnow.php', 'create')) == 1


def test_a_read_answered_with_http_503_is_retried(server, cache, clock):
    server.fault('read', response(b'<html><title>503</title></html>', 503))
    assert api_call(server, cache, clock).run('database', 'campaigns').as_dict()['total'] == 2
    assert server.actions.count(('database.php', 'read')) == 2


def test_a_write_that_never_left_is_retried(server, cache, clock):
    server.fault('create', refused())
    result = api_call(server, cache, clock).run('ecnow', 'ecnow_records', 'create', data=[{'name': 'Ada'}])
    assert server.actions.count(('ecnow.php', 'create')) == 2
    assert len(server.rows[('ecnow', 'ecnow_records')]) == 1
    assert result.changed is True


def test_a_transport_error_message_never_holds_the_token_from_the_url(server, cache, clock):
    call = api_call(server, cache, clock, retries=0)
    call.run('database', 'campaigns')
    token = list(server.tokens)[0]
    server.fault('create', OSError(
        "proxy: Max retries exceeded with url: /api/ecnow.php?token=%s&method=ecnow_records (Connection aborted.)" % token))
    with pytest.raises(ContactNowError) as failure:
        call.run('ecnow', 'ecnow_records', 'create', data=[{'name': 'Ada'}])
    assert 'Max retries exceeded with url: /api/ecnow.php?token=********&method' in str(failure.value)
    assert token not in str(failure.value)


def test_some_records_refused_is_a_warning_all_refused_an_error(server, cache, clock):
    call = api_call(server, cache, clock)
    partly = call.run('ecnow', 'ecnow_records', 'create', data=[{'name': 'Ada'}, {'phone': '1'}])
    assert partly.changed is True
    assert partly.warnings == ['the API refused 1 of the 2 records (no reason given); they are in response.bad']
    with pytest.raises(ContactNowError) as failure:
        call.run('ecnow', 'ecnow_records', 'create', data=[{'phone': '1'}])
    assert 'wrote none of the 1 records and refused 1' in str(failure.value)


# -- option checks ---------------------------------------------------------------------------------


@pytest.mark.parametrize('script, message', [
    ('', 'script must be the name'),
    ('../token', 'script must be the name'),
    ('token', 'use the contactnow_token module'),
    ('token.php', 'use the contactnow_token module'),
])
def test_bad_script_names_are_refused(script, message):
    with pytest.raises(OptionError) as failure:
        check_request(script, 'campaigns', 'read', {}, None, 300)
    assert message in str(failure.value)


@pytest.mark.parametrize('action, params, data, message', [
    ('read', {}, [{'id': 1}], 'data is only for action create, update or delete'),
    ('create', {}, None, 'data must hold the records to create'),
    ('update', {}, ['x'], 'data must hold the records to update'),
    ('read', {'token': 'x', 'format': 'xml'}, None, 'params must not hold format, token'),
    ('remove', {}, None, 'action must be one of read, create, update, delete'),
])
def test_bad_requests_are_refused_before_anything_is_sent(action, params, data, message):
    with pytest.raises(OptionError) as failure:
        check_request('database', 'campaigns', action, params, data, 300)
    assert message in str(failure.value)


def test_one_record_is_sent_as_a_list_and_php_suffix_is_dropped():
    assert check_request('ecnow.php', 'ecnow_records', 'create', None, {'a': 1}, 0) == ('ecnow', 'ecnow_records', {}, [{'a': 1}])


def test_form_values():
    assert form_values({'fields': ['qid', 'outcome'], 'raw': True, 'off': False, 'n': 3, 'skip': None, 'f': 1.0}) == \
        {'fields': 'qid,outcome', 'raw': '1', 'off': '0', 'n': '3', 'f': '1'}


# -- one shape for JSON and XML ----------------------------------------------------------------------


@pytest.mark.parametrize('records', [[], [{'id': '1', 'HomePhone': '01632', 'note': ''}],
                                     [{'id': '1', 'name': 'a'}, {'id': '2', 'name': 'b'}]])
def test_xml_and_json_documents_normalise_alike(records):
    reply = dict(success=True, total=len(records), list=records)
    from_json = normalise_reply(decode_reply(json.dumps(reply)).document)
    from_xml = normalise_reply(decode_reply(render(reply, 'xml')).document)
    assert from_json == from_xml
    assert from_json['list'] == [dict((k, v or None) for k, v in record.items()) for record in records]


def test_json_numbers_and_booleans_become_text_as_xml_gives_them():
    reply = normalise_reply({'Success': 1, 'TOTAL': '2', 'list': [{'id': 7, 'active': True, 'rate': 1.5, 'gone': None}]})
    assert reply == dict(success=True, total=2, list=[{'id': '7', 'active': '1', 'rate': '1.5', 'gone': None}])


def test_records_from_every_wrapping():
    assert records_of(None) == []
    assert records_of({'item': {'id': '1'}}) == [{'id': '1'}]
    assert records_of({'item': [{'id': '1'}, {'id': '2'}]}) == [{'id': '1'}, {'id': '2'}]
    assert records_of({'1': {'id': '1'}, '2': {'id': '2'}}) == [{'id': '1'}, {'id': '2'}]  # PHP associative array
    assert records_of({'id': '1', 'name': 'x'}) == [{'id': '1', 'name': 'x'}]
    assert records_of({'record': [{'id': '1', '@type': 'x', 'name': {'#text': 'n', '@lang': 'en'}}]}) == [{'id': '1', 'name': 'n'}]


# -- hostile replies -----------------------------------------------------------------------------------


def deeply_nested_xml(levels=20000):
    return ('<?xml version="1.0"?>\n<result><success>1</success><total>1</total><list>' + '<item>' * levels
            + '</item>' * levels + '</list></result>').encode('ascii')


def test_a_deeply_nested_reply_to_a_write_may_have_been_written(server, cache, clock):
    server.fault('create', response(deeply_nested_xml()), after=True)
    with pytest.raises(WriteOutcomeUnknown) as failure:
        api_call(server, cache, clock).run('ecnow', 'ecnow_records', 'create', data=[{'name': 'Ada'}])
    message = str(failure.value)
    assert 'nested more than' in message and 'may have carried out the create' in message
    assert server.actions.count(('ecnow.php', 'create')) == 1 and len(server.rows[('ecnow', 'ecnow_records')]) == 1


def test_a_deeply_nested_reply_to_a_read_is_an_undecodable_reply(server, cache, clock):
    server.fault('read', response(deeply_nested_xml()), after=True)
    server.fault('read', response(deeply_nested_xml()), after=True)
    with pytest.raises(ContactNowError) as failure:
        api_call(server, cache, clock, retries=1).run('database', 'campaigns')
    assert 'nested more than' in str(failure.value) and '\n' not in str(failure.value)


def test_a_page_echoing_the_token_in_a_long_title_shows_no_part_of_it(server, cache, clock):
    call = api_call(server, cache, clock, retries=0)
    call.run('database', 'campaigns')
    token = list(server.tokens)[0]
    # The token straddles the 80th character of the title, where the title used to be cut.
    title = 'Request rejected: POST /api/ecnow.php?token=%s&method=ecnow_records' % token
    assert title.index(token) < 80 < title.index(token) + len(token)
    server.fault('create', response(('<!DOCTYPE html><html><head><title>%s</title></head></html>' % title).encode('ascii')),
                 after=True)
    with pytest.raises(ContactNowError) as failure:
        call.run('ecnow', 'ecnow_records', 'create', data=[{'name': 'Ada'}])
    message = str(failure.value)
    assert 'token=********&method' in message
    assert token[:8] not in message

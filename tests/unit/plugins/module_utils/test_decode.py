# -*- coding: utf-8 -*-
# Copyright (c) eightbyeight.contactnow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""decode_reply(): every reply shape token.php (or something in front of it) may send."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from ansible_collections.eightbyeight.contactnow.plugins.module_utils._decode import (
    MAX_DEPTH,
    UndecodableReply,
    decode_reply,
    normalise_reply,
)

TOKEN = 'bd932b769fc7263316345627d0a9ef3b8f8d1f8d'
EXPIRE = 1307975676


# -- the documented examples -------------------------------------------------------------------


def test_documented_json_example():
    body = '{"success":true,"token":"%s","expire":%d}' % (TOKEN, EXPIRE)
    assert decode_reply(body) == {'success': True, 'token': TOKEN, 'expire': EXPIRE}


def test_documented_xml_example():
    body = '<result> <success>1</success> <token>%s</token> <expire>%d</expire> </result>' % (TOKEN, EXPIRE)
    assert decode_reply(body) == {'success': True, 'token': TOKEN, 'expire': EXPIRE}


def test_json_and_xml_give_identical_results():
    json_body = b'{"success":true,"token":"%s","expire":%d}' % (TOKEN.encode(), EXPIRE)
    xml_body = b'<?xml version="1.0"?>\n<result><success>1</success><token>%s</token><expire>%d</expire></result>\n' % (
        TOKEN.encode(), EXPIRE)
    assert decode_reply(json_body) == decode_reply(xml_body)


def test_bytes_and_text_bodies_are_equivalent():
    body = '{"success":true,"expire":%d}' % EXPIRE
    assert decode_reply(body) == decode_reply(body.encode('utf-8'))


# -- success in every form ------------------------------------------------------------------------


@pytest.mark.parametrize('raw, expected', [
    ('true', True), ('false', False),
    ('1', True), ('0', False),
    ('"true"', True), ('"false"', False),
    ('"True"', True), ('"FALSE"', False),
    ('"1"', True), ('"0"', False),
    ('" 1 "', True), ('""', False),
    ('1.0', True), ('0.0', False),
])
def test_json_success_forms(raw, expected):
    assert decode_reply('{"success":%s}' % raw)['success'] is expected


@pytest.mark.parametrize('raw, expected', [
    ('1', True), ('0', False),
    ('true', True), ('false', False),
    ('TRUE', True), ('False', False),
    (' 1 ', True), ('', False),
])
def test_xml_success_forms(raw, expected):
    assert decode_reply('<result><success>%s</success></result>' % raw)['success'] is expected


def test_xml_empty_success_element_is_false():
    assert decode_reply('<result><success/></result>')['success'] is False


@pytest.mark.parametrize('raw', ['"maybe"', '"2"', '"yes please"'])
def test_success_that_is_neither_true_nor_false_is_undecodable(raw):
    with pytest.raises(UndecodableReply, match='success'):
        decode_reply('{"success":%s}' % raw)


# -- expire ---------------------------------------------------------------------------------------


@pytest.mark.parametrize('raw', ['%d' % EXPIRE, '"%d"' % EXPIRE, '" %d "' % EXPIRE, '%d.0' % EXPIRE, '"%d.0"' % EXPIRE])
def test_json_expire_as_int_or_string(raw):
    reply = decode_reply('{"success":true,"expire":%s}' % raw)
    assert reply['expire'] == EXPIRE
    assert isinstance(reply['expire'], int)


def test_xml_expire_is_an_int():
    reply = decode_reply('<result><success>1</success><expire> %d </expire></result>' % EXPIRE)
    assert reply['expire'] == EXPIRE
    assert isinstance(reply['expire'], int)


def test_negative_expire_of_an_expired_token_error():
    reply = decode_reply('{"success": false, "error": "Expired token", "expire": -1}')
    assert reply == {'success': False, 'error': 'Expired token', 'expire': -1}


@pytest.mark.parametrize('body', ['{"success":true,"expire":""}', '{"success":true,"expire":null}',
                                  '<result><success>1</success><expire/></result>'])
def test_empty_expire_is_dropped(body):
    assert 'expire' not in decode_reply(body)


@pytest.mark.parametrize('raw', ['"soon"', '"12h"', '"inf"', '1e400', '"nan"'])
def test_expire_that_is_not_a_number_is_undecodable(raw):
    with pytest.raises(UndecodableReply, match='expire'):
        decode_reply('{"success":true,"expire":%s}' % raw)


# -- keys, whitespace, BOM --------------------------------------------------------------------------


def test_json_keys_in_any_case():
    reply = decode_reply('{"SUCCESS":true,"Token":"%s","eXpIrE":"%d"}' % (TOKEN, EXPIRE))
    assert reply == {'success': True, 'token': TOKEN, 'expire': EXPIRE}


def test_xml_keys_and_root_in_any_case():
    reply = decode_reply('<RESULT><Success>1</Success><TOKEN>%s</TOKEN><Expire>%d</Expire></RESULT>' % (TOKEN, EXPIRE))
    assert reply == {'success': True, 'token': TOKEN, 'expire': EXPIRE}


def test_xml_root_name_does_not_matter():
    assert decode_reply('<response><success>0</success><error>Invalid token</error></response>') == {
        'success': False, 'error': 'Invalid token'}


def test_json_keys_with_whitespace():
    assert decode_reply('{" success ":true, "token ":"%s"}' % TOKEN) == {'success': True, 'token': TOKEN}


def test_whitespace_around_the_body_and_values():
    body = '\r\n\n  \t{"success": true, "token": "  %s\\n", "error": " none "}  \n\n' % TOKEN
    assert decode_reply(body) == {'success': True, 'token': TOKEN, 'error': 'none'}


def test_xml_with_newlines_and_indentation():
    body = '\n\n<?xml version="1.0" encoding="UTF-8"?>\n<result>\n  <success>\n 1\n </success>\n  <token>\n    %s\n  </token>\n' \
           '  <expire>%d</expire>\n</result>\n\n' % (TOKEN, EXPIRE)
    assert decode_reply(body) == {'success': True, 'token': TOKEN, 'expire': EXPIRE}


@pytest.mark.parametrize('body', [
    b'\xef\xbb\xbf{"success":true,"expire":1307975676}',
    b'\xef\xbb\xbf<result><success>1</success><expire>1307975676</expire></result>',
    b'\xef\xbb\xbf<?xml version="1.0"?><result><success>1</success><expire>1307975676</expire></result>',
    u'\ufeff{"success":true,"expire":1307975676}',
])
def test_byte_order_mark_is_ignored(body):
    assert decode_reply(body) == {'success': True, 'expire': EXPIRE}


def test_xml_attributes_keep_the_text():
    body = '<result><success type="int">1</success><token lang="x">%s</token></result>' % TOKEN
    assert decode_reply(body) == {'success': True, 'token': TOKEN}


def test_unknown_fields_are_kept_lower_case():
    assert decode_reply('{"success":true,"Message":"hello"}') == {'success': True, 'message': 'hello'}


def test_non_ascii_error_text():
    assert decode_reply(u'{"success":false,"error":"Fehler: Kennwort ung\u00fcltig"}'.encode('utf-8'))['error'] == \
        u'Fehler: Kennwort ung\u00fcltig'


# -- error bodies ---------------------------------------------------------------------------------


@pytest.mark.parametrize('body', [
    '{"success": false, "error": "Authentication failure"}',
    '<result><success>0</success><error>Authentication failure</error></result>',
    '<?xml version="1.0"?>\n<result><success>0</success><error>Authentication failure</error></result>\n',
])
def test_error_bodies_json_and_xml(body):
    assert decode_reply(body) == {'success': False, 'error': 'Authentication failure'}


def test_xml_error_body_with_escaped_text():
    body = '<result><success>0</success><error>Bad argument: &lt;token&gt; &amp; more</error></result>'
    assert decode_reply(body)['error'] == 'Bad argument: <token> & more'


def test_expired_token_xml_error_body():
    body = '<result><success>0</success><error>Expired token</error><expire>-1</expire></result>'
    assert decode_reply(body) == {'success': False, 'error': 'Expired token', 'expire': -1}


# -- the content type is irrelevant: only the body is ever given, and it alone decides ---------------


@pytest.mark.parametrize('body', [
    '{"success":true,"expire":1307975676}',
    '<result><success>1</success><expire>1307975676</expire></result>',
])
def test_body_alone_decides_the_format(body):
    # decode_reply takes no content type at all; whatever a server labels its answer, the body decides.
    assert decode_reply(body) == {'success': True, 'expire': EXPIRE}


# -- not a reply ----------------------------------------------------------------------------------


def test_html_page_is_undecodable_and_described_by_its_title():
    body = '<!DOCTYPE html>\n<html><head><title>Error</title></head><body><h1>Database error</h1></body></html>'
    with pytest.raises(UndecodableReply) as info:
        decode_reply(body)
    message = str(info.value)
    assert 'HTML page' in message
    assert '"Error"' in message
    assert 'Database error' not in message  # described, never quoted


def test_html_without_doctype_is_undecodable():
    with pytest.raises(UndecodableReply, match='HTML page titled "503 Service Unavailable"'):
        decode_reply('<html><head><title>503 Service Unavailable</title></head><body>down</body></html>')


def test_html_with_success_element_is_not_taken_for_xml():
    with pytest.raises(UndecodableReply, match='HTML'):
        decode_reply('<html><success>1</success></html>')


@pytest.mark.parametrize('body', [
    '{"success":true,"token":"bd932b769fc72633',
    '{"success":true,"token":"%s","expire":130797' % TOKEN,
    '{',
])
def test_truncated_json_is_undecodable(body):
    with pytest.raises(UndecodableReply, match='cut short'):
        decode_reply(body)


@pytest.mark.parametrize('body', [
    '<?xml version="1.0"?>\n<result><success>1</success><token>bd932b7',
    '<result><success>1</success><token>%s</token><expi' % TOKEN,
    '<result>',
])
def test_truncated_xml_is_undecodable(body):
    with pytest.raises(UndecodableReply, match='cut short'):
        decode_reply(body)


@pytest.mark.parametrize('body', [
    'Warning: mysqli_connect(): (HY000/2002): No such file in /var/www/html/token.php on line 12\n',
    'OK',
    '\x00\x01\x02binary',
    b'\xff\xfe\x00garbage\x80',
    '[{"success": true}]',
    '"success"',
    'true',
    '12345',
])
def test_garbage_is_undecodable(body):
    with pytest.raises(UndecodableReply, match='not JSON or XML'):
        decode_reply(body)


@pytest.mark.parametrize('body', ['', '   \n\t ', b'', b'\xef\xbb\xbf'])
def test_empty_body_is_undecodable(body):
    with pytest.raises(UndecodableReply, match='empty body'):
        decode_reply(body)


@pytest.mark.parametrize('body', [
    '{"token":"%s","expire":%d}' % (TOKEN, EXPIRE),
    '{"error":"Invalid token"}',
    '{}',
    '<result><token>%s</token></result>' % TOKEN,
])
def test_missing_success_is_undecodable(body):
    with pytest.raises(UndecodableReply, match='no "success" field'):
        decode_reply(body)


def test_missing_success_message_names_the_fields_not_the_values():
    with pytest.raises(UndecodableReply) as info:
        decode_reply('{"token":"%s","expire":%d}' % (TOKEN, EXPIRE))
    assert 'expire, token' in str(info.value)
    assert TOKEN not in str(info.value)


def test_xml_root_with_only_text_is_undecodable():
    with pytest.raises(UndecodableReply):
        decode_reply('<result>1</result>')


@pytest.mark.parametrize('body', [
    '{"success":false,"error":"Bad argument: password=hunter2-secret"}',
    'garbage hunter2-secret garbage',
    '{"success":true,"token":"hunter2-secret',
    '<result><token>hunter2-secret</token><expi',
    '<html><head><title>x</title></head><body>hunter2-secret</body></html>',
])
def test_messages_never_quote_the_body(body):
    try:
        decode_reply(body)
    except UndecodableReply as exc:
        assert 'hunter2-secret' not in str(exc)


# -- typed replies: token a printable string, expire an integer -------------------------------------


@pytest.mark.parametrize('raw', ['12345', '123.5', 'true', 'null', '["%s"]' % TOKEN, '{"t": "%s"}' % TOKEN])
def test_json_token_that_is_not_a_string_is_undecodable(raw):
    body = '{"success":true,"token":%s,"expire":%d}' % (raw, EXPIRE)
    if raw == 'null':
        assert 'token' not in decode_reply(body)  # no token: the caller says "carries no token"
        return
    with pytest.raises(UndecodableReply) as info:
        decode_reply(body)
    assert '"token" field' in str(info.value)
    assert TOKEN not in str(info.value) and '12345' not in str(info.value)


@pytest.mark.parametrize('token', ['bd93\x00b769', 'bd93\nb769', 'x' * 513, '\u200bbd93'])
def test_token_that_is_not_printable_or_too_long_is_undecodable(token):
    with pytest.raises(UndecodableReply, match='"token" field'):
        decode_reply('{"success":true,"token":%s,"expire":%d}' % (json.dumps(token), EXPIRE))


def test_token_of_the_longest_allowed_length_is_kept():
    assert decode_reply('{"success":true,"token":"%s"}' % ('x' * 512))['token'] == 'x' * 512


def test_token_of_a_refusal_is_dropped_whatever_it_holds():
    assert 'token' not in decode_reply('{"success":false,"error":"Invalid token","token":12}')


@pytest.mark.parametrize('raw', ['true', '1.5', '"1e3"', '"\u00b2"', '"12 34"', '[1]', '{"a": 1}', '"0x10"',
                                 '123456789012345678901234567890', '"-"'])
def test_expire_that_is_not_a_whole_number_is_undecodable(raw):
    with pytest.raises(UndecodableReply) as info:
        decode_reply('{"success":true,"token":"%s","expire":%s}' % (TOKEN, raw))
    assert '"expire" field' in str(info.value)


@pytest.mark.parametrize('raw, expected', [('1307975676', EXPIRE), ('"1307975676"', EXPIRE), ('" 1307975676 "', EXPIRE),
                                           ('1307975676.0', EXPIRE), ('"-1"', -1), ('"+5"', 5)])
def test_expire_as_an_int_or_an_int_valued_string(raw, expected):
    assert decode_reply('{"success":true,"expire":%s}' % raw)['expire'] == expected


def test_xml_expire_with_an_attribute_keeps_its_text():
    assert decode_reply('<result><success>1</success><expire unit="s">%d</expire></result>' % EXPIRE)['expire'] == EXPIRE


def test_xml_repeated_element_counts_once():
    reply = decode_reply('<result><success>1</success><token>%s</token><token>other</token></result>' % TOKEN)
    assert reply['token'] == TOKEN


@pytest.mark.parametrize('raw', ['{"a": 1}', '[1, 2]'])
def test_json_success_that_is_not_a_single_value_is_undecodable(raw):
    with pytest.raises(UndecodableReply, match='"success" field'):
        decode_reply('{"success":%s}' % raw)


def test_error_text_that_is_a_number_becomes_text():
    assert decode_reply('{"success":false,"error":404}')['error'] == '404'


# -- hostile documents ------------------------------------------------------------------------------


def test_deeply_nested_json_is_undecodable_not_a_recursion_error():
    with pytest.raises(UndecodableReply, match='nested too deeply|does not parse'):
        decode_reply('{"success":' + '[' * 200000 + ']' * 200000 + '}')


def test_deeply_nested_xml_is_undecodable_or_decoded_never_a_crash():
    body = '<result><success>1</success>' + '<a>' * 20000 + '</a>' * 20000 + '</result>'
    try:
        assert decode_reply(body)['success'] is True
    except UndecodableReply:
        pass


def test_xml_entities_are_not_expanded():
    body = ('<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
            '<result><success>1</success><error>&b;</error></result>')
    try:
        reply = decode_reply(body)
    except UndecodableReply:
        return
    assert 'aaaaaaaaaa' not in reply.get('error', '')


def test_html_title_is_searched_only_at_the_start_of_the_page():
    body = '<!DOCTYPE html><html><head>' + ' ' * 8000 + '<title>Late title</title></head></html>'
    with pytest.raises(UndecodableReply) as info:
        decode_reply(body)
    assert 'Late title' not in str(info.value)
    assert 'HTML page, %d characters' % len(body) in str(info.value)


def test_huge_page_full_of_title_openings_is_described_quickly():
    # The old title regex was quadratic here (300 s for 2.4 MB); the search now reads 4 KiB at most.
    body = '<!DOCTYPE html><html><head>' + '<title' * 400000
    with pytest.raises(UndecodableReply, match='an HTML page, %d characters' % len(body)):
        decode_reply(body)


def test_title_with_control_characters_is_cleaned():
    with pytest.raises(UndecodableReply) as info:
        decode_reply('<html><head><title>Bad\x07 \n gateway\x1b</title></head></html>')
    assert 'titled "Bad gateway"' in str(info.value)


@pytest.mark.parametrize('body', [None, 12, ['{"success":true}'], {'success': True}])
def test_body_that_is_not_bytes_or_text_is_undecodable(body):
    with pytest.raises(UndecodableReply):
        decode_reply(body)


def test_old_xmltodict_without_disable_entities_still_decodes(monkeypatch):
    import xmltodict
    real_parse = xmltodict.parse

    def old_parse(text, **kwargs):
        if kwargs:
            raise TypeError("parse() got an unexpected keyword argument 'disable_entities'")
        return real_parse(text)
    monkeypatch.setattr(xmltodict, 'parse', old_parse)
    assert decode_reply('<result><success>1</success><expire>%d</expire></result>' % EXPIRE) == {'success': True, 'expire': EXPIRE}


def test_normalising_a_deeply_nested_document_stops_at_the_bound():
    document = {'success': '1', 'list': None}
    inner = document
    for dummy in range(5000):
        inner['list'] = {'item': {}}
        inner = inner['list']['item']
    with pytest.raises(UndecodableReply) as failure:
        normalise_reply(document)
    assert 'nested more than %d levels deep' % MAX_DEPTH in str(failure.value)


def test_an_html_title_is_kept_whole_for_the_scrub_that_follows():
    title = 'x' * 70 + ' token=' + 'f' * 40
    with pytest.raises(UndecodableReply) as failure:
        decode_reply('<!DOCTYPE html><html><title>%s</title></html>' % title)
    assert title in str(failure.value)


def test_infinite_and_nan_numbers_in_other_fields_are_kept_as_text():
    reply = decode_reply('{"success":true,"rate":Infinity,"mean":NaN,"list":[{"n":-Infinity}]}')
    assert reply['success'] is True
    assert (reply.response['rate'], reply.response['mean'], reply.response['list']) == ('inf', 'nan', [{'n': '-inf'}])

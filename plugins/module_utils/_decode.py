# -*- coding: utf-8 -*-
# Copyright (c) eightbyeight.contactnow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The one conversion layer for API answers: JSON or XML bodies into one shape.

This is a private module of the collection: its interface may change without notice.

The API documents no status codes or content types, and PHP servers label JSON as text/html, so
the body alone decides: JSON when it parses as a JSON object, else XML, else an error that
describes what came back without quoting it.

:func:`decode_reply` gives token.php's fields, checked (``success``, ``expire``, ``token``,
``error``), and -- inside the same guard, so a hostile document fails as an undecodable reply --
the whole answer normalised for the other APIs (:func:`normalise_reply`).  There is one reading
of true/false for a reply (:func:`as_bool`); options use ansible-core's ``check_type_bool``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

_TRUE_WORDS = frozenset(('true', '1', 'yes'))
_FALSE_WORDS = frozenset(('false', '0', 'no', ''))
# Reply fields that hold lists of records.
_RECORD_LISTS = ('list', 'bad')
# Records sit a few levels down (result > list > item > record > field > #text); a document
# nested far deeper is hostile, and walking it must stop long before Python's recursion limit.
MAX_DEPTH = 32

# HTML detection and the title are judged from the start of the body only: linear and bounded.
_HEAD_CHARS = 4096
MAX_TOKEN_LENGTH = 512
# Far beyond any plausible expiry (year 287396) and still exact as a float.
_MAX_EXPIRE = 2 ** 53
# ASCII digits only (str.isdigit also accepts superscripts), an optional ".0" as PHP may print.
_INTEGER = re.compile(r'\A([+-]?[0-9]{1,20})(?:\.0*)?\Z')


class UndecodableReply(ValueError):
    """The body is neither a JSON nor an XML reply of the documented shape.

    The message describes the body (kind, size, an HTML title) or names the field that is wrong,
    and never quotes a value, because an unknown server or proxy might echo the request back.
    """


class Reply(dict):
    """The flattened reply of token.php.

    ``document`` keeps the whole decoded mapping as parsed; ``response`` is that mapping in the one
    shape the other APIs' replies take (see :func:`normalise_reply`).
    """

    document = None
    response = None


def decode_reply(body):
    """Return the reply as a dict: lower-case keys, ``success`` a bool, ``expire`` an int if present.

    ``token`` (when present in a successful reply) is a non-empty printable string of at most
    :data:`MAX_TOKEN_LENGTH` characters, ``error`` a string.  ``body`` is bytes or text.  Raises
    :class:`UndecodableReply`, and nothing else for any input.
    """
    try:
        return _decode(body)
    except UndecodableReply:
        raise
    except RecursionError:
        raise UndecodableReply('the answer is nested too deeply to be a token.php reply')
    except Exception as exc:  # a decoder's own failure on hostile input: describe, never quote
        raise UndecodableReply('the answer could not be decoded (%s)' % type(exc).__name__)


def _decode(body):
    text = _as_text(body)
    fields = _parse_json(text)
    from_xml = fields is None
    if from_xml:
        fields = _parse_xml(text)
    if fields is None:
        raise UndecodableReply('the answer is not JSON or XML (%s)' % _describe(text))

    reply = Reply()
    for key, value in fields.items():
        reply[str(key).strip().lower()] = _xml_value(value) if from_xml else value
    reply.document = fields
    if 'success' not in reply:
        names = sorted(name for name in reply if name.isidentifier())[:10]
        raise UndecodableReply('the answer has no "success" field (fields: %s)' % (', '.join(names) or 'none'))
    reply['success'] = as_bool(_field(reply, 'success'))
    if reply.get('expire') not in (None, ''):
        reply['expire'] = _as_int(_field(reply, 'expire'), 'expire')
    else:
        reply.pop('expire', None)
    error = _field(reply, 'error') if 'error' in reply else None
    if error is None:
        reply.pop('error', None)
    else:
        reply['error'] = _as_text_field(error, 'error')
    token = _field(reply, 'token') if 'token' in reply else None
    if token is None or (isinstance(token, str) and not token.strip()):
        reply.pop('token', None)
    elif reply['success']:
        reply['token'] = _as_token(token)
    else:
        reply.pop('token', None)  # a refusal carries no usable token, whatever the field holds
    reply.response = normalise_reply(fields)
    return reply


def _field(reply, name):
    """The value of a known field: XML text for an element with attributes, a scalar for JSON."""
    value = reply[name]
    if isinstance(value, (list, dict)):
        raise UndecodableReply('the "%s" field is not a single value' % name)
    return value


def _as_text(body):
    if isinstance(body, (bytes, bytearray)):
        body = bytes(body).decode('utf-8', errors='replace')
    elif not isinstance(body, str):
        raise UndecodableReply('the answer is not text')
    return body.lstrip('\ufeff').strip()


def _parse_json(text):
    if not text.startswith('{'):
        return None
    try:
        fields = json.loads(text)
    except RecursionError:
        raise UndecodableReply('the answer is JSON nested too deeply to be a token.php reply')
    except ValueError:
        raise UndecodableReply('the answer looks like JSON but does not parse, it may be cut short (%s)' % _describe(text))
    return fields if isinstance(fields, dict) else None


def _parse_xml(text):
    if not text.startswith('<') or _looks_like_html(text):
        return None
    try:
        import xmltodict  # only XML answers need it
    except ImportError:
        raise UndecodableReply('the answer is XML, which needs the Python library xmltodict; install it or use format: json')
    try:
        try:
            document = xmltodict.parse(text, disable_entities=True)
        except TypeError:  # xmltodict < 0.12 has no disable_entities (its expat never fetches external entities)
            document = xmltodict.parse(text)
    except RecursionError:
        raise UndecodableReply('the answer is XML nested too deeply to be a token.php reply')
    except Exception:  # expat raises several unrelated types
        raise UndecodableReply('the answer looks like XML but does not parse, it may be cut short (%s)' % _describe(text))
    if not isinstance(document, dict) or len(document) != 1:
        return None
    root = next(iter(document.values()))
    if not isinstance(root, dict):
        return None
    return root  # whole: _decode keeps one value per field, the other APIs read the rest from .document


def _xml_value(value):
    """A repeated element counts once (the first); an element with attributes or children gives its text."""
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        value = value.get('#text')
    return value


def _looks_like_html(text):
    head = text[:200].lower()
    return head.startswith('<!doctype html') or '<html' in head


def _describe(text):
    if not text:
        return 'an empty body'
    if _looks_like_html(text):
        title = _title(text[:_HEAD_CHARS])
        return 'an HTML page%s, %d characters' % (' titled "%s"' % title if title else '', len(text))
    return '%d characters' % len(text)


def _title(head):
    """The page title, by plain searches (linear in ``head``), or None.

    Whole, not cut: the caller scrubs secrets from the message first (a page may echo a request,
    token and all) and only then shortens it; a cut here could leave a secret's prefix behind.
    """
    lowered = head.lower()
    start = lowered.find('<title')
    if start < 0:
        return None
    opened = lowered.find('>', start)
    if opened < 0:
        return None
    closed = lowered.find('<', opened + 1)
    if closed < 0:
        return None
    title = ' '.join(head[opened + 1:closed].split())
    title = ''.join(char for char in title if char.isprintable())
    return title or None


def as_bool(value, name='success'):
    """A reply's true/false as PHP APIs write it: a bool, a number, true/false, yes/no, 1/0 or empty."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0
    if value is None:
        return False
    word = value.strip().lower() if isinstance(value, str) else None
    if word in _TRUE_WORDS:
        return True
    if word in _FALSE_WORDS:
        return False
    raise UndecodableReply('the "%s" field is neither true nor false' % name)


def _as_int(value, name):
    """An integer, or a string holding one (XML has only strings); bool and fractions are refused."""
    number = None
    if isinstance(value, bool):
        number = None
    elif isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str):
        match = _INTEGER.match(value.strip())
        if match:
            number = int(match.group(1))
    if number is None or abs(number) > _MAX_EXPIRE:
        raise UndecodableReply('the "%s" field is not a whole number of seconds' % name)
    return number


def _as_token(value):
    if not isinstance(value, str):
        raise UndecodableReply('the "token" field is not a string')
    token = value.strip()
    if not token or len(token) > MAX_TOKEN_LENGTH or not token.isprintable():
        raise UndecodableReply('the "token" field is not a printable string of 1 to %d characters' % MAX_TOKEN_LENGTH)
    return token


def _as_text_field(value, name):
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, (bool, int, float)):
        return str(value)
    raise UndecodableReply('the "%s" field is not text' % name)


def normalise_reply(document):
    """A decoded reply in one shape for JSON and XML.

    Top-level keys lower-cased, ``success`` a bool, ``total`` and ``expire`` ints (None when not a
    number), record lists (``list``, ``bad``) as lists of dicts whatever the wrapping, and every other
    value as text (None when empty), which is how a PHP/MySQL API hands values back.  Raises
    :class:`UndecodableReply` for a document nested deeper than :data:`MAX_DEPTH`.
    """
    response = {}
    for key, value in document.items():
        key = str(key).strip().lower()
        if key in _RECORD_LISTS:
            response[key] = records_of(value)
        elif key == 'success':
            response[key] = as_bool(_xml_value(value))
        elif key in ('total', 'expire'):
            response[key] = _number(_xml_value(value))
        else:
            response[key] = _value(value, 1)
    if 'list' not in response:
        response['list'] = []
    return response


def records_of(value, depth=1):
    """A list of records from whatever wraps them.

    JSON gives a list, or an object keyed by id (a PHP associative array); XML gives None (empty),
    ``{'item': [...]}`` or ``{'item': {...}}`` (one record).  A mapping of plain values is one record.
    """
    _check_depth(depth)
    if value is None or value == '':
        return []
    if isinstance(value, list):
        return [_record(item, depth + 1) for item in value]
    if isinstance(value, dict):
        children = [item for key, item in value.items() if not str(key).startswith(('@', '#'))]
        if children and all(isinstance(item, (dict, list)) for item in children):
            found = []
            for item in children:
                found.extend(records_of(item, depth + 1) if isinstance(item, list) else [_record(item, depth + 1)])
            return found
        return [_record(value, depth + 1)]
    return [_record(value, depth + 1)]


def as_text(value):
    """A value as the API's text: integral floats without ``.0``, anything else by ``str``."""
    if isinstance(value, float) and value.is_integer():  # not for inf and nan, which JSON may hold
        return str(int(value))
    return value if isinstance(value, str) else str(value)


def _record(value, depth):
    if isinstance(value, dict):
        return dict((str(key), _value(item, depth + 1)) for key, item in value.items() if not str(key).startswith('@'))
    return {'value': _value(value, depth + 1)}


def _value(value, depth):
    _check_depth(depth)
    if isinstance(value, dict):
        if set(value) <= set(['#text']) or all(str(key).startswith(('@', '#')) for key in value):
            return _value(value.get('#text'), depth + 1)
        return dict((str(key), _value(item, depth + 1)) for key, item in value.items() if not str(key).startswith('@'))
    if isinstance(value, list):
        return [_value(item, depth + 1) for item in value]
    if value is None or value == '':
        return None
    if isinstance(value, bool):
        return '1' if value else '0'
    return as_text(value)


def _check_depth(depth):
    if depth > MAX_DEPTH:
        raise UndecodableReply('the answer is nested more than %d levels deep, deeper than any ContactNow reply' % MAX_DEPTH)


def _number(value):
    try:
        return int(float(str(value).strip()))
    except (TypeError, ValueError, OverflowError):
        return None

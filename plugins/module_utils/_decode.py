# -*- coding: utf-8 -*-
# Copyright (c) eightbyeight.contactnow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Decoding of token.php answers, JSON or XML, into one shape.

This is a private module of the collection: its interface may change without notice.

The API documents no status codes or content types, and PHP servers label JSON as text/html, so
the body alone decides: JSON when it parses as a JSON object, else XML, else an error that
describes what came back without quoting it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

_TRUE_WORDS = frozenset(('true', '1', 'yes'))
_FALSE_WORDS = frozenset(('false', '0', 'no', ''))

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
    """The flattened reply; ``document`` keeps the whole decoded mapping (lists, nesting) for the other APIs."""

    document = None


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
    reply['success'] = _as_bool(_field(reply, 'success'))
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
    """The page title, by plain searches (linear in ``head``), at most 80 characters, or None."""
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
    return title[:80] or None


def _as_bool(value):
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0
    if value is None:
        return False
    if not isinstance(value, str):
        raise UndecodableReply('the "success" field is neither true nor false')
    word = value.strip().lower()
    if word in _TRUE_WORDS:
        return True
    if word in _FALSE_WORDS:
        return False
    raise UndecodableReply('the "success" field is neither true nor false')


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

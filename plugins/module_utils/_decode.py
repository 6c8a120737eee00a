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
_TITLE = re.compile(r'<title[^>]*>([^<]{1,200})</title>', re.IGNORECASE)


class UndecodableReply(ValueError):
    """The body is neither a JSON nor an XML reply of the documented shape.

    The message describes the body (kind, size, an HTML title) and never quotes it, because an
    unknown server or proxy might echo the request back.
    """


class Reply(dict):
    """The flattened reply; ``document`` keeps the whole decoded mapping (lists, nesting) for the other APIs."""

    document = None


def decode_reply(body):
    """Return the reply as a dict: lower-case keys, ``success`` a bool, ``expire`` an int if present.

    ``body`` is bytes or text.  Raises :class:`UndecodableReply`.
    """
    text = _as_text(body)
    fields = _parse_json(text)
    if fields is None:
        fields = _parse_xml(text)
    if fields is None:
        raise UndecodableReply('the answer is not JSON or XML (%s)' % _describe(text))

    reply = Reply((str(key).strip().lower(), _scalar(value)) for key, value in fields.items())
    reply.document = fields
    if 'success' not in reply:
        raise UndecodableReply('the answer has no "success" field (fields: %s)' % (', '.join(sorted(reply)) or 'none'))
    reply['success'] = _as_bool(reply['success'])
    if reply.get('expire') not in (None, ''):
        reply['expire'] = _as_int(reply['expire'], 'expire')
    else:
        reply.pop('expire', None)
    for key in ('token', 'error'):
        if isinstance(reply.get(key), str):
            reply[key] = reply[key].strip()
    return reply


def _as_text(body):
    if isinstance(body, bytes):
        body = body.decode('utf-8', errors='replace')
    return body.lstrip('\ufeff').strip()


def _parse_json(text):
    if not text.startswith('{'):
        return None
    try:
        fields = json.loads(text)
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
        document = xmltodict.parse(text)
    except Exception:  # expat raises several unrelated types
        raise UndecodableReply('the answer looks like XML but does not parse, it may be cut short (%s)' % _describe(text))
    if not isinstance(document, dict) or len(document) != 1:
        return None
    root = next(iter(document.values()))
    return root if isinstance(root, dict) else None


def _looks_like_html(text):
    head = text[:200].lower()
    return head.startswith('<!doctype html') or '<html' in head


def _describe(text):
    if not text:
        return 'an empty body'
    if _looks_like_html(text):
        title = _TITLE.search(text)
        return 'an HTML page%s, %d characters' % (' titled "%s"' % title.group(1).strip()[:80] if title else '', len(text))
    return '%d characters' % len(text)


def _scalar(value):
    """XML gives nested dicts for attributes/children and None for empty elements; keep text only."""
    if isinstance(value, dict):
        return value.get('#text')
    if isinstance(value, list):
        return value[0] if value else None
    return value


def _as_bool(value):
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0
    word = str(value if value is not None else '').strip().lower()
    if word in _TRUE_WORDS:
        return True
    if word in _FALSE_WORDS:
        return False
    raise UndecodableReply('the "success" field is neither true nor false')


def _as_int(value, name):
    try:
        return int(float(str(value).strip()))
    except (ValueError, OverflowError):  # OverflowError: "inf", or JSON 1e400
        raise UndecodableReply('the "%s" field is not a number' % name)

# -*- coding: utf-8 -*-
# Copyright (c) eightbyeight.contactnow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Calls to the other ContactNow APIs (``database.php``, ``ecnow.php``, ``reporting.php``, ...).

This is a private module of the collection: its interface may change without notice.

The rules, and why:

- The token comes from :class:`TokenManager` -- the cache, renewal and address binding of
  ``contactnow_token`` -- and a cached token is used without a ``validate`` round trip: the call
  itself is the check.  On ``Expired token``, ``Invalid token`` or ``Unknown token`` the cached
  token is evicted, a new one is obtained, and the request is resent once.  That is always safe,
  writes included: the API refused the first request.
- Reads are retried on transient faults by the client.  Writes are never resent once they may
  have reached the server (a lost reply, a timeout, an HTTP 5xx, an answer cut short): the error
  says the records may have been written, and to read them back before running again.
- JSON and XML replies come out identical (``_decode.normalise_reply``): top-level keys
  lower-cased, ``success`` a bool, ``total`` an int, record lists (``list``, ``bad``) as lists of
  dicts whatever the wrapping, and every other value as text (``None`` when empty).  A reply
  nested too deeply is undecodable; for a write that means it may have been written.
- Check mode sends reads and never a write; a write's ``changed`` is predicted true.
- No token appears in a message or a result.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re
import time

from ansible_collections.eightbyeight.contactnow.plugins.module_utils._errors import (
    ContactNowError,
    InvalidTokenError,
    ReplyError,
    TransportError,
)
from ansible_collections.eightbyeight.contactnow.plugins.module_utils._decode import as_text
from ansible_collections.eightbyeight.contactnow.plugins.module_utils._options import OptionError
from ansible_collections.eightbyeight.contactnow.plugins.module_utils._token import TokenManager

ACTIONS = ('read', 'create', 'update', 'delete')
WRITE_ACTIONS = ('create', 'update', 'delete')
# A cached token is believed for its whole life: the API call itself tells when it no longer works.
TRUST_CACHED_TOKEN = 10 ** 9  # seconds: longer than any token lives
_SCRIPT_NAME = re.compile(r'^[A-Za-z0-9_-]+$')


class WriteOutcomeUnknown(ContactNowError):
    """A write may or may not have been carried out: its reply was lost, so it was not resent."""


class ApiResult:
    """What a call returns: ``changed`` and, unless a write was skipped in check mode, the reply."""

    def __init__(self, changed, response=None, warnings=()):
        self.changed = changed
        self.response = response
        self.warnings = list(warnings)

    def as_dict(self):
        result = dict(changed=self.changed)
        if self.response is not None:
            result.update(success=self.response['success'], total=self.response.get('total'),
                          records=self.response.get('list', []), response=self.response)
        return result


class ApiCall:
    """One call to ``<api_url>/<script>.php`` for one account, with the token handled."""

    def __init__(self, options, address=None, manager=None, now=time.time):
        self.options = options
        self.manager = manager or TokenManager(options, address=address, now=now)
        self.client = self.manager.client
        # Every token a request carried: the module masks them in what it returns (a reply may echo one).
        self.tokens_sent = set()

    def run(self, script, method, action='read', params=None, data=None, min_ttl=300, check_mode=False):
        script, method, params, records = check_request(script, method, action, params, data, min_ttl)
        write = action in WRITE_ACTIONS
        if write and check_mode:
            return ApiResult(changed=True)
        reply = self._call_with_token(script, method, action, params, records, min_ttl, check_mode)
        # decode_reply normalised the whole document inside its guard (token.php's view keeps one
        # value per field; an XML record list is nested deeper).
        response = reply.response
        if write and response.get('bad') and not response.get('total'):
            raise ContactNowError('the API wrote none of the %d records and refused %d (see the "bad" field of the '
                                  'reply: %s)' % (len(records), len(response['bad']), _bad_summary(response['bad'])),
                                  action=_label(script, method, action), host=self.options.host)
        warnings = []
        if response.get('bad'):
            warnings.append('the API refused %d of the %d records (%s); they are in response.bad'
                            % (len(response['bad']), len(records or ()), _bad_summary(response['bad'])))
        changed = write and response.get('total') != 0
        return ApiResult(changed=changed, response=response, warnings=warnings)

    def _call_with_token(self, script, method, action, params, records, min_ttl, check_mode=False):
        token = self._token(min_ttl, check_mode)
        try:
            return self._send(script, method, action, token, params, records)
        except InvalidTokenError:
            # The API refused the request, so nothing was done: renew the token and resend, once.
            if not check_mode:
                self.manager.forget()
            token = self._token(min_ttl, check_mode, refused=token)
        try:
            return self._send(script, method, action, token, params, records)
        except InvalidTokenError as exc:
            raise ContactNowError(
                'the API refused a token it had just issued (%s); check that requests to %s.php reach the API from '
                'the address the token is bound to (a proxy or NAT in between changes it)' % (exc.message, script),
                action=_label(script, method, action), host=self.options.host)

    def _token(self, min_ttl, check_mode=False, refused=None):
        if not check_mode:
            return self.manager.ensure(min_ttl, trust_cache_for=TRUST_CACHED_TOKEN).token
        # Check mode sends no delete (a renewal would revoke the token other hosts hold) and writes no
        # cache: any token that is still valid will do for a read, however short its time left.
        return self.manager.usable_token(skip=refused)

    def _send(self, script, method, action, token, params, records):
        write = action in WRITE_ACTIONS
        self.tokens_sent.add(token)
        try:
            return self.client.call_api(script, method, action, token, params=params, records=records,
                                        idempotent=not write)
        except (TransportError, ReplyError) as exc:
            if not write or (isinstance(exc, TransportError) and not exc.maybe_acted):
                raise
            raise WriteOutcomeUnknown(
                '%s; the server may have carried out the %s before the reply was lost, so it was not resent: '
                'read the records back (action read) before running the task again' % (exc.message, action),
                action=exc.action, host=exc.host, attempts=exc.attempts)


def check_request(script, method, action, params, data, min_ttl):
    """Validate the options; returns (script, method, params as form values, records or None)."""
    script = (script or '').strip()
    if script.endswith('.php'):
        script = script[:-len('.php')]
    if not _SCRIPT_NAME.match(script):
        raise OptionError('script must be the name of a ContactNow API script such as ecnow, database or reporting')
    if script == 'token':
        raise OptionError('script token is the token API itself: use the contactnow_token module or lookup for it')
    if not method:
        raise OptionError('method is required, for example campaigns (database) or ecnow_records (ecnow)')
    if action not in ACTIONS:
        raise OptionError('action must be one of %s' % ', '.join(ACTIONS))
    if min_ttl is None or min_ttl < 0:
        raise OptionError('min_ttl must be zero or more seconds')
    params = form_values(params)
    reserved = sorted(set(params) & set(('token', 'method', 'action', 'format')))
    if reserved:
        raise OptionError('params must not hold %s: the module sends the token, and method, action and format '
                          'are options of their own' % ', '.join(reserved))
    if action == 'read':
        if data:
            raise OptionError('data is only for action create, update or delete; filters of a read go in params')
        return script, method, params, None
    if isinstance(data, dict):
        data = [data]
    if not data or not isinstance(data, list) or not all(isinstance(record, dict) for record in data):
        raise OptionError('data must hold the records to %s: a list of dictionaries (or one dictionary)' % action)
    return script, method, params, data


def form_values(params):
    """Parameters as the form fields the API takes: text, lists comma-joined, booleans 1/0."""
    if params is None:
        return {}
    if not isinstance(params, dict):
        raise OptionError('params must be a dictionary of argument names and values')
    values = {}
    for name, value in params.items():
        if value is None:
            continue
        if isinstance(value, bool):
            value = '1' if value else '0'
        elif isinstance(value, (list, tuple)):
            value = ','.join(as_text(item) for item in value)
        elif isinstance(value, dict):
            value = json.dumps(value, separators=(',', ':'), sort_keys=True)
        else:
            value = as_text(value)
        values[str(name)] = value
    return values


def _label(script, method, action):
    return '%s.php %s %s' % (script, method, action)


def _bad_summary(bad):
    reasons = sorted(set(str(record.get('error') or record.get('reason') or 'no reason given') for record in bad))
    return '; '.join(reasons)[:200]

# -*- coding: utf-8 -*-
# Copyright (c) eightbyeight.contactnow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Password rotation (action ``newpass``) for the contactnow_password module.

This is a private module of the collection: its interface may change without notice.

The rules, and why:

- Which password is live is only ever learnt from ``get``: the current password is tried first,
  ``new_password`` only when the current one is refused.  A run that succeeds therefore makes at
  most one failed authentication, which matters to accounts with lockout policies.
- ``newpass`` is sent at most once.  When its reply is lost (timeout, connection reset, a cut-off
  answer) the server may or may not have acted, so we ask ``get`` -- new password first, since
  that is the likely outcome and a success costs no failed sign-in -- and report what is true.
- After a change ``new_password`` is verified with ``get``; that token is returned and becomes
  the account's cached token (the entry from before the change is evicted first).
- Messages name the user and the host, never a password or a token.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.eightbyeight.contactnow.plugins.module_utils._client import (
    ApiError,
    AuthenticationError,
    ContactNowClient,
    ContactNowError,
    InvalidTokenError,
    ReplyError,
    TransportError,
)
from ansible_collections.eightbyeight.contactnow.plugins.module_utils._options import OptionError
from ansible_collections.eightbyeight.contactnow.plugins.module_utils._token import TokenManager, TokenResult

CURRENT = 'current'
NEW = 'new'

_RERUN_HINT = 're-run with the same password and new_password: the module tries both and reports which one is live'


class PasswordRotationError(ContactNowError):
    """The rotation cannot be reported as done; the message says which password is live when known."""


def diff_text(live):
    """What diff mode shows for a state: which of the two passwords is live, never a value."""
    return 'password: %s\n' % live


class RotationResult(TokenResult):
    """A TokenResult plus which password was live before and after the run."""

    def __init__(self, before, after, token=None, expire=None, now=None):
        super(RotationResult, self).__init__(token, expire, changed=before != after, now=now)
        self.before = before
        self.after = after

    def as_dict(self, diff=False, header=None):
        result = dict(changed=self.changed, token=self.token, expire=self.expire, expires_in=self.expires_in)
        if diff:
            result['diff'] = dict(before=diff_text(self.before), after=diff_text(self.after),
                                  before_header=header, after_header=header)
        return result


class PasswordRotation:
    """Moves one account from its current password (``options.password``) to ``new_password``."""

    def __init__(self, options, new_password, held_token=None, client=None, cache=None, now=time.time):
        options.require_credentials('change a password', password_name='password (the current password)')
        if not new_password:
            raise OptionError('new_password must not be empty')
        self.options = options
        self.new_password = new_password
        self.held_token = held_token or None
        self.client = client or ContactNowClient(options)
        self.tokens = TokenManager(options, client=self.client, cache=cache, now=now)
        self._now = now

    @property
    def where(self):
        return 'user %s at %s' % (self.options.username, self.options.host)

    def rotate(self, check_mode=False):
        """Make ``new_password`` the live password; a RotationResult, or PasswordRotationError."""
        same = self.options.password == self.new_password
        try:
            token = self._get(CURRENT)
        except AuthenticationError:
            if same:
                raise PasswordRotationError(
                    'the API does not accept the password for %s (and new_password is the same password); '
                    'check the password option (or CONTACTNOW_PASSWORD) and the username' % self.where)
            token = self._already_rotated()
            return self._done(NEW, NEW, token, check_mode)

        if same:
            return self._done(NEW, NEW, token, check_mode)
        if check_mode:
            # A real run would send newpass; nothing is sent, and no token under the new password exists yet.
            return RotationResult(CURRENT, NEW)

        verified = self._change(self._token_for_newpass(token)) or self._verify_after_change()
        return self._done(CURRENT, NEW, verified, check_mode)

    # -- steps -----------------------------------------------------------------------------------

    def _already_rotated(self):
        """The current password was refused: is new_password live already?"""
        try:
            return self._get(NEW)
        except AuthenticationError:
            raise PasswordRotationError(
                'the API accepted neither the current password nor new_password for %s; '
                'check the password option (or CONTACTNOW_PASSWORD) and new_password. If the account was rotated '
                'elsewhere, pass the password it was rotated to. Note that failed sign-ins may count towards a lockout'
                % self.where)

    def _token_for_newpass(self, fetched):
        """The ``token`` option when it still validates, else the token ``get`` just returned."""
        if self.held_token and self.held_token != fetched.token:
            try:
                self.client.validate(self.held_token)
                return self.held_token
            except InvalidTokenError:
                pass
        return fetched.token

    def _change(self, token):
        """Send newpass once.  None when the API confirmed it; the verifying token when its reply was lost."""
        try:
            self.client.change_password(token, self.new_password)
        except TransportError as exc:
            if not exc.maybe_acted:
                raise PasswordRotationError(
                    'the password change request never reached %s (%s); the password was not changed, the current '
                    'password is still live, and it is safe to re-run' % (self.options.host, exc.message))
            return self._after_lost_reply(exc)
        except ReplyError as exc:
            # An answer that is not an API reply (cut short, an HTML page): the server may have acted.
            return self._after_lost_reply(exc)
        except (ApiError, InvalidTokenError, AuthenticationError) as exc:
            text = getattr(exc, 'server_text', None) or exc.message
            raise PasswordRotationError(
                'the API refused to change the password for %s: %s. The password was not changed and the current '
                'password still works; if the API names a password rule, choose a new_password that meets it'
                % (self.where, text))

    def _after_lost_reply(self, lost):
        """newpass may or may not have been carried out: find out which password is live."""
        try:
            live, token = self._which_is_live()
        except ContactNowError as exc:
            raise PasswordRotationError(
                'the reply to the password change for %s was lost (%s), and finding out which password is live '
                'failed too (%s); %s' % (self.where, lost.message, exc, _RERUN_HINT))
        if live == CURRENT:
            raise PasswordRotationError(
                'the reply to the password change for %s was lost (%s) and the change was not applied: the current '
                'password is still live; safe to re-run' % (self.where, lost.message))
        if live is None:
            raise PasswordRotationError(
                'the reply to the password change for %s was lost (%s), and afterwards the API accepted neither the '
                'current password nor new_password; find out whether the account was changed elsewhere before '
                'trying again' % (self.where, lost.message))
        return token  # the change happened, and get with new_password has just proved it

    def _verify_after_change(self):
        """The token get returns for new_password, proving the change; fails truthfully otherwise."""
        try:
            live, token = self._which_is_live()
        except ContactNowError as exc:
            raise PasswordRotationError(
                'the API confirmed the password change for %s, but verifying new_password failed (%s); new_password '
                'should be the live password: %s' % (self.where, exc, _RERUN_HINT))
        if live == NEW:
            return token
        if live == CURRENT:
            raise PasswordRotationError(
                'the API reported the password change for %s as done, but it still accepts only the current password; '
                'the current password is live and it is safe to re-run' % self.where)
        raise PasswordRotationError(
            'after the password change for %s the API accepted neither the current password nor new_password; '
            'find out whether the account was changed elsewhere before trying again' % self.where)

    def _which_is_live(self):
        """(NEW|CURRENT|None, token), asking get with new_password first (the expected one after newpass)."""
        for which in (NEW, CURRENT):
            try:
                return which, self._get(which)
            except AuthenticationError:
                pass
        return None, None

    def _done(self, before, after, token, check_mode):
        if before != after:
            # Whatever was cached was obtained under the old password.
            self.tokens.forget()
        if not check_mode:
            self.tokens.remember(token.token, token.expire)
        return RotationResult(before, after, token.token, token.expire, now=self._now())

    def _get(self, which):
        password = self.new_password if which == NEW else self.options.password
        return self.client.get_token(self.options.username, password)

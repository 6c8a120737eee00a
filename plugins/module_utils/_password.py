# -*- coding: utf-8 -*-
# Copyright (c) eightbyeight.contactnow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Password rotation (action ``newpass``) for the contactnow_password module.

This is a private module of the collection: its interface may change without notice.

The rules, and why:

- Every outcome, success or failure, carries ``live_password``, which is about the **account**, not
  about this run's request: ``current`` only when the account provably still has the current
  password, ``new`` when ``get`` with ``new_password`` succeeded, ``unknown`` otherwise.  Callers
  decide on that field, never on message text.
- Another run may be sending the same ``new_password`` at the same time (the rotate_password role
  resumes a pending password in every run that finds one, and cannot know who else did), and an
  API may revoke the account's tokens when its password changes.  So this module always assumes
  ``new_password`` may be shared: when its own ``newpass`` did not change the password (refused, or
  never sent), it asks ``get`` with ``new_password``: accepted -> ``new``.  Refused, the outcome is
  ``current`` only when the API refused ``new_password`` itself (a password rule, which refuses it
  to every run alike); after a token refusal (which another run's change explains), a request that
  never left this machine, or a local failure before ``newpass``, another run may still apply it:
  ``unknown``.
- ``newpass`` is only sent with the token ``get`` has just returned for this username and the
  current password, so no other account can be changed.
- Everything local that can fail (the token cache) is exercised before ``newpass``; after a
  confirmed change a local failure is a warning on a successful result.
- Which password is live is only learnt from ``get``: the current password first, ``new_password``
  only when the current one is refused, so a run that succeeds makes at most one failed sign-in.
- ``newpass`` is sent at most once.  When its reply is lost the server may have acted, or may
  still act (a slow server): ``get`` with ``new_password`` is tried, and only its success counts.
  The current password still being accepted proves nothing, so that outcome is ``unknown``.
- Messages name the user and the host, never a password or a token.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.eightbyeight.contactnow.plugins.module_utils._client import ContactNowClient
from ansible_collections.eightbyeight.contactnow.plugins.module_utils._errors import (
    ApiError,
    AuthenticationError,
    ContactNowError,
    InvalidTokenError,
    TransportError,
)
from ansible_collections.eightbyeight.contactnow.plugins.module_utils._options import OptionError
from ansible_collections.eightbyeight.contactnow.plugins.module_utils._token import CacheUnusableError, TokenManager, TokenResult

CURRENT = 'current'
NEW = 'new'
UNKNOWN = 'unknown'

_KEEP_BOTH = ('keep both the current password and new_password (the rotate_password role keeps new_password as '
              'pending); re-run with the same password and new_password to find out which one is live: the module '
              'tries both and converges')
_MAY_BE_SHARED = ('another run may be sending the same new_password (the rotate_password role resumes a pending password '
                  'in every run that finds it), so which password is live is unknown: ' + _KEEP_BOTH)


class PasswordRotationError(ContactNowError):
    """The rotation cannot be reported as done; ``live_password`` says which password the account accepts."""

    def __init__(self, message, live_password):
        super(PasswordRotationError, self).__init__(message)
        self.live_password = live_password

    @property
    def result(self):
        """Fields the module adds to its failure, so callers act on data instead of message text."""
        return dict(live_password=self.live_password)


def password_state(live):
    """The diff-mode view of a state: which of the two passwords is live, never a value."""
    return {'password': live}


class RotationResult(TokenResult):
    """A TokenResult plus which password was live before and after the run."""

    def __init__(self, before, after, token=None, expire=None, now=None, warnings=None, live_password=None):
        super(RotationResult, self).__init__(token, expire, changed=before != after, now=now)
        self.before = before
        self.after = after
        # What the account accepts now: the predicted ``after`` is not live in check mode.
        self.live_password = live_password or after
        self.warnings = list(warnings or [])

    def as_dict(self, diff=False, header=None):
        result = dict(changed=self.changed, live_password=self.live_password,
                      token=self.token, expire=self.expire, expires_in=self.expires_in)
        if diff:
            before, after = password_state(self.before), password_state(self.after)
            if header:
                before['account'] = after['account'] = header
            result['diff'] = dict(before=before, after=after)
        if self.warnings:
            result['warnings'] = self.warnings
        return result


class PasswordRotation:
    """Moves one account from its current password (``options.password``) to ``new_password``."""

    def __init__(self, options, new_password, client=None, cache=None, now=time.time):
        options.require_credentials('change a password', password_name='password (the current password)')
        if not new_password:
            raise OptionError('new_password must not be empty')
        self.options = options
        self.new_password = new_password
        self.client = client or ContactNowClient(options)
        self.tokens = TokenManager(options, client=self.client, cache=cache, now=now)
        self._now = now
        self._warnings = []

    @property
    def where(self):
        return 'user %s at %s' % (self.options.username, self.options.host)

    def rotate(self, check_mode=False):
        """Make ``new_password`` the live password; a RotationResult, or PasswordRotationError."""
        same = self.options.password == self.new_password
        token = self._get_or_fail(CURRENT, same)
        if token is None:
            # The current password was refused: is new_password live already?
            return self._done(NEW, NEW, self._get_or_fail(NEW, True), check_mode)
        if same:
            return self._done(NEW, NEW, token, check_mode)
        if check_mode:
            # A real run would send newpass; nothing is sent, and no token under the new password exists yet.
            return RotationResult(CURRENT, NEW, live_password=CURRENT)

        self._check_local_state(token)
        verified = self._change(token)
        return self._done(CURRENT, NEW, verified, check_mode)

    # -- steps -----------------------------------------------------------------------------------

    def _get_or_fail(self, which, final):
        """get with one of the passwords; None when refused and another try remains (``final`` False)."""
        try:
            return self._get(which)
        except AuthenticationError:
            if not final:
                return None
            if which == CURRENT:
                raise PasswordRotationError(
                    'the API does not accept the password for %s (and new_password is the same password); '
                    'check the password option (or CONTACTNOW_PASSWORD) and the username' % self.where, UNKNOWN)
            raise PasswordRotationError(
                'the API accepted neither the current password nor new_password for %s; '
                'check the password option (or CONTACTNOW_PASSWORD) and new_password. If the account was rotated '
                'elsewhere, pass the password it was rotated to. Note that failed sign-ins may count towards a lockout'
                % self.where, UNKNOWN)
        except ContactNowError as exc:
            # Nothing was changed by this run, but which password the account accepts is not known.
            raise PasswordRotationError(
                'finding out which password is live for %s failed (%s); nothing was changed by this run' % (self.where, exc),
                UNKNOWN)

    def _check_local_state(self, token):
        """Fail before the irreversible step when what must follow it (the cache) cannot work."""
        try:
            # The token get just returned is the account's token: caching it proves the cache is usable.
            self.tokens.remember(token.token, token.expire)
        except CacheUnusableError as exc:
            raise PasswordRotationError(
                'the password of %s was not changed by this run (newpass was not sent), because %s; %s'
                % (self.where, exc.message, _MAY_BE_SHARED), UNKNOWN)

    def _change(self, token):
        """Send newpass once with ``token`` (just issued to this account); the verifying token."""
        try:
            self.client.change_password(token.token, self.new_password)
        except TransportError as exc:
            if not exc.maybe_acted:
                return self._not_changed_by_this_run(
                    'the password change request never left this machine for %s (%s)' % (self.options.host, exc.message))
            return self._after_lost_reply(exc)
        except (ApiError, InvalidTokenError, AuthenticationError) as exc:
            text = getattr(exc, 'server_text', None) or exc.message
            # A token refusal is what a concurrent change explains (an API that revokes tokens on newpass);
            # any other refusal is about new_password itself.
            return self._not_changed_by_this_run(
                'the API refused to change the password for %s: %s' % (self.where, text),
                refused_new_password=isinstance(exc, ApiError))
        except ContactNowError as exc:
            # An answer that is not an API reply (cut short, an HTML page, anything else): the server may have acted.
            return self._after_lost_reply(exc)
        return self._verify_after_change()

    def _not_changed_by_this_run(self, reason, refused_new_password=False):
        """This run's newpass changed nothing; another run may have sent the same new_password: ask get."""
        try:
            token = self._get(NEW)
        except AuthenticationError:
            if refused_new_password:
                raise PasswordRotationError(
                    '%s. The password was not changed and the current password still works; if the API names a password '
                    'rule, choose a new_password that meets it' % reason, CURRENT)
            raise PasswordRotationError(
                '%s. The API does not accept new_password yet; %s' % (reason, _MAY_BE_SHARED), UNKNOWN)
        except ContactNowError as exc:
            raise PasswordRotationError(
                '%s, and asking the API whether new_password is live failed too (%s); which password is live is '
                'unknown: %s' % (reason, exc, _KEEP_BOTH), UNKNOWN)
        self._warnings.append('%s, but the API accepts new_password: another run changed the password to it' % reason)
        return token

    def _after_lost_reply(self, lost):
        """newpass may have been carried out, or may still be: only get with new_password can say so."""
        reason = getattr(lost, 'message', None) or str(lost)
        try:
            return self._get(NEW)
        except AuthenticationError:
            raise PasswordRotationError(
                'the reply to the password change for %s was lost (%s) and the API does not accept new_password yet; '
                'the server may still apply the change, so which password is live is unknown: %s'
                % (self.where, reason, _KEEP_BOTH), UNKNOWN)
        except ContactNowError as exc:
            raise PasswordRotationError(
                'the reply to the password change for %s was lost (%s), and asking the API whether new_password is live '
                'failed too (%s); which password is live is unknown: %s' % (self.where, reason, exc, _KEEP_BOTH), UNKNOWN)

    def _verify_after_change(self):
        """The API confirmed newpass: the token get returns for new_password proves it."""
        try:
            return self._get(NEW)
        except ContactNowError as exc:
            raise PasswordRotationError(
                'the API confirmed the password change for %s, but verifying new_password failed (%s); new_password '
                'should be the live password, but that is not proven: %s' % (self.where, exc, _KEEP_BOTH), UNKNOWN)

    def _done(self, before, after, token, check_mode):
        warnings = list(self._warnings)
        if not check_mode:
            try:
                if before != after:
                    # Whatever was cached was obtained under the old password.
                    self.tokens.forget()
                # The token was obtained with new_password: only a caller presenting it is handed the token.
                self.tokens.remember(token.token, token.expire, password=self.new_password)
            except CacheUnusableError as exc:
                warnings.append('the password of %s is %s, but the token could not be cached: %s'
                                % (self.where, 'changed' if before != after else 'unchanged', exc.message))
        return RotationResult(before, after, token.token, token.expire, now=self._now(), warnings=warnings)

    def _get(self, which):
        password = self.new_password if which == NEW else self.options.password
        return self.client.get_token(self.options.username, password)

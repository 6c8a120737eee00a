# -*- coding: utf-8 -*-
# Copyright (c) eightbyeight.contactnow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The errors every plugin may catch, in a module of their own.

This is a private module of the collection: its interface may change without notice.

Kept apart from ``_client`` so that a plugin whose work may need no request (the lookup on a cache
hit) can catch them without compiling the HTTP client: collection code is compiled afresh in every
process that imports it, and the lookup is imported in every forked worker.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ContactNowError(Exception):
    """Base of every error the client raises: one line, naming the action and the host."""

    def __init__(self, message, action=None, host=None, attempts=1):
        super(ContactNowError, self).__init__(message)
        self.message = message
        self.action = action
        self.host = host
        self.attempts = attempts

    def __str__(self):
        if self.action and self.host:
            return 'ContactNow %s request to %s failed: %s' % (self.action, self.host, self.message)
        return self.message


class AuthenticationError(ContactNowError):
    """The username/password pair was refused ("Authentication failure")."""


class InvalidTokenError(ContactNowError):
    """The token is unknown, deleted, or bound to another address ("Invalid token")."""


class ExpiredTokenError(InvalidTokenError):
    """The token was valid once and has expired ("Expired token")."""


class ApiError(ContactNowError):
    """Any other ``success: false`` answer; ``server_text`` holds the API's own words."""

    def __init__(self, message, server_text=None, **kwargs):
        super(ApiError, self).__init__(message, **kwargs)
        self.server_text = server_text


class TransportError(ContactNowError):
    """No usable HTTP answer: refused, timed out, TLS, DNS, or an HTTP error status.

    ``maybe_acted`` is False only when the request provably never reached the server (its body was
    never read for sending); any failure after that, of whatever kind, leaves it True.
    """

    def __init__(self, message, maybe_acted=True, **kwargs):
        super(TransportError, self).__init__(message, **kwargs)
        self.maybe_acted = maybe_acted


class ReplyError(ContactNowError):
    """An HTTP answer came back but it is not a token.php reply (HTML, garbage, cut short)."""

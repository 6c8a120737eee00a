# -*- coding: utf-8 -*-
# Copyright (c) eightbyeight.contactnow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Token decisions shared by contactnow_token, contactnow_token_info, the lookup and the password module.

This is a private module of the collection: its interface may change without notice.

"The token you hold" is the ``token`` option when given, else the cached one.  Decisions are
judged from ``expire`` against this machine's clock (``now`` is injectable for tests), and in
check mode only ``validate`` -- which changes nothing -- is ever sent.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.eightbyeight.contactnow.plugins.module_utils._errors import ContactNowError, InvalidTokenError
from ansible_collections.eightbyeight.contactnow.plugins.module_utils._options import OptionError, require_seconds

# No token lasts this long (documented: 12 hours, "subject to change"; clocks may also disagree by
# hours, which shifts the lifetime seen from here): a min_ttl above it fails without any delete.
MAX_PLAUSIBLE_LIFETIME = 7 * 24 * 3600


class CacheUnusableError(ContactNowError):
    """The cache directory cannot be used; the message says where and how to avoid it."""


class TokenResult:
    """Outcome of ensure/remove: the token now held (None when unknown in check mode) and ``changed``."""

    def __init__(self, token=None, expire=None, changed=False, now=None):
        self.token = token
        self.expire = expire
        self.changed = changed
        self.expires_in = None if expire is None else int(expire - (now if now is not None else time.time()))

    def as_dict(self):
        return dict(token=self.token, expire=self.expire, expires_in=self.expires_in)


class TokenManager:
    """Ensures, validates and removes tokens for one account through one client and the cache."""

    def __init__(self, options, client=None, cache=None, address=None, now=time.time):
        self.options = options
        self._client = client
        self.address = address or None
        self._now = now
        self.cache = None
        self._key = None
        if options.cache:
            # Imported here: contactnow_token_info and cache: false never touch the cache.
            from ansible_collections.eightbyeight.contactnow.plugins.module_utils._cache import TokenCache

            self.cache = cache or TokenCache()
            self._key = TokenCache.key(options.api_url, options.username, self.address)
        self._lifetime = None  # seconds a freshly issued token lasts for this account, once seen

    @property
    def client(self):
        """The HTTP client, built (and its code imported) only when a request is due: a trusted cache
        hit in the lookup sends nothing."""
        if self._client is None:
            from ansible_collections.eightbyeight.contactnow.plugins.module_utils._client import ContactNowClient
            self._client = ContactNowClient(self.options)
        return self._client

    # -- public decisions ------------------------------------------------------------------------

    def ensure(self, min_ttl=300, held_token=None, check_mode=False, trust_cache_for=None):
        """Hold a token valid for at least ``min_ttl`` seconds; get (and renew) one if needed.

        ``trust_cache_for``: seconds during which a cached entry confirmed valid is believed without
        asking the API (the lookup's fan-out); None always validates what is held.  Both are checked
        here, so the module and the lookup accept the same values.
        """
        min_ttl = require_seconds(min_ttl, 'min_ttl')
        if trust_cache_for is not None:
            trust_cache_for = require_seconds(trust_cache_for, 'revalidate_interval')
        with self._locked():
            entry = None if held_token else self._read_cache()
            held = held_token or (entry.token if entry else None)
            now = self._now()
            if entry and entry.trusted(now, min_ttl, trust_cache_for):
                return TokenResult(entry.token, entry.expire, changed=False, now=now)

            # When the cache already says the token cannot meet min_ttl, validate could only agree
            # (or say it is gone), and get follows either way: skip it.
            known_short = entry is not None and entry.expire - now < min_ttl
            if held and not known_short:
                expire = self._expire_or_none(held)
                if expire is not None and expire - self._now() >= min_ttl:
                    if entry and not check_mode:
                        self._write_cache(held, expire)  # records when it was last confirmed
                    return TokenResult(held, expire, changed=False, now=self._now())
                if expire is None and entry and not check_mode:
                    self._evict_cache()

            if check_mode:
                # A real run would send get (and maybe delete). A token bound to another address never
                # validates from here, but get hands that address's current token back: while the cache
                # says it has min_ttl left, the real run keeps it.
                if self.address and entry and entry.expire - now >= min_ttl:
                    return TokenResult(entry.token, entry.expire, changed=False, now=now)
                return TokenResult(changed=True)

            token = self._get_fresh(min_ttl)
            self._write_cache(token.token, token.expire)
            return TokenResult(token.token, token.expire, changed=token.token != held, now=self._now())

    def usable_token(self, skip=None):
        """A token valid now, however short its time left, for a check-mode read: the cached one unless it is
        ``skip`` (just refused) or expired by its own ``expire``, else the one ``get`` returns. Sends at most
        ``get`` -- never ``delete`` -- and writes nothing to the cache."""
        with self._locked():
            entry = self._read_cache()
        if entry is not None and entry.token != skip and entry.expire > self._now():
            return entry.token
        self.options.require_credentials()
        return self.client.get_token(self.options.username, self.options.password, self.address).token

    def remove(self, held_token=None, check_mode=False):
        """Make the held token unusable; ``changed`` only when it was valid."""
        if not held_token and self.cache is not None:
            # The cached token is only used by a caller presenting the password it was obtained with.
            self.options.require_credentials('find the cached token to delete (or pass the token option)')
        with self._locked():
            entry = None if held_token else self._read_cache()
            held = held_token or (entry.token if entry else None)
            if not held:
                return TokenResult(changed=False)
            expire = self._expire_or_none(held)
            if expire is None:
                if not check_mode:
                    self._evict_cache()
                return TokenResult(changed=False)
            if not check_mode:
                self.client.delete(held)
                self._evict_cache()
            return TokenResult(changed=True)

    def inspect(self, token):
        """Validate without changing anything: dict with valid, expire, expires_in and error."""
        try:
            expire = self.client.validate(token)
        except InvalidTokenError as exc:
            return dict(valid=False, expire=None, expires_in=None, error=exc.message)
        return dict(valid=True, expire=expire, expires_in=int(expire - self._now()), error=None)

    def forget(self):
        """Evict this account's cached token (after delete or newpass elsewhere)."""
        self._evict_cache()

    def remember(self, token, expire, password=None):
        """Record a token obtained outside ensure() (the password module's verifying get) as the cached one.

        ``password``: the password the token was obtained with, when it is not the options' one (after
        a rotation, the new password); only callers presenting it are handed the token.
        """
        with self._locked():
            self._write_cache(token, expire, password=password)

    # -- helpers ---------------------------------------------------------------------------------

    def _get_fresh(self, min_ttl):
        self.options.require_credentials()
        token = self.client.get_token(self.options.username, self.options.password, self.address)
        left = token.expire - self._now()
        if self._lifetime is not None and left > self._lifetime:
            self._lifetime = left  # a token lasting longer than we thought: the lifetime grew (or the clocks moved)
        if left < min_ttl:
            # get hands back the current token while it is valid: delete it to be issued a new one --
            # unless no new token could meet min_ttl either: other hosts may be using this one.
            self._refuse_hopeless_min_ttl(min_ttl, left)
            try:
                self.client.delete(token.token)
            except InvalidTokenError:
                if not self.address:
                    raise
                # The API refuses a token bound to another address ("Invalid token"), delete included.
                raise ContactNowError(
                    'the token for address %s has %d seconds left, less than min_ttl (%d), and a token bound to another '
                    'address cannot be deleted from here to get a new one; lower min_ttl, or run the task on that machine'
                    % (self.address, left, min_ttl), action='delete', host=self.options.host)
            self._evict_cache()
            token = self.client.get_token(self.options.username, self.options.password, self.address)
            # Issued just now (ours was deleted): its lifetime is what any new token gets.
            self._lifetime = lifetime = token.expire - self._now()
            if lifetime < min_ttl:
                self._write_cache(token.token, token.expire)  # keep the lesson (and the valid token) for next time
                raise OptionError(
                    'a fresh token is valid for only %d seconds, less than min_ttl (%d); lower min_ttl' % (lifetime, min_ttl))
        return token

    def _refuse_hopeless_min_ttl(self, min_ttl, left):
        """Fail, before any delete, when no token the API issues can have min_ttl seconds left.

        An option error, not a failed request: the request worked, the option asks for the impossible.
        """
        entry = self._read_cache()
        known = self._lifetime if self._lifetime is not None else (entry.lifetime if entry else None)
        if known is not None and known < min_ttl:
            raise OptionError(
                'min_ttl (%d) is more than a new token lasts for this account (%d seconds, seen when one was last issued); '
                'lower min_ttl (the current token, %d seconds left, was kept)' % (min_ttl, known, left))
        if min_ttl > MAX_PLAUSIBLE_LIFETIME:
            raise OptionError(
                'min_ttl (%d) is more than any ContactNow token lasts (tokens last about 12 hours; the one the API returned '
                'has %d seconds left); lower min_ttl (the current token was kept)' % (min_ttl, left))

    def _expire_or_none(self, token):
        try:
            return self.client.validate(token)
        except InvalidTokenError:
            return None

    def _locked(self):
        if self.cache is None:
            return _NoLock()
        return self._cache_io(self.cache.locked, self._key)

    def _read_cache(self):
        """The account's entry, only if it was written for the password presented now."""
        if self.cache is None:
            return None
        entry = self.cache.read(self._key, self.options.password)
        if entry is not None and self._lifetime is None:
            self._lifetime = entry.lifetime
        return entry

    def _write_cache(self, token, expire, password=None):
        if self.cache is not None:
            self._cache_io(self.cache.write, self._key, token, expire, self._now(),
                           password if password is not None else self.options.password, self._lifetime)

    def _evict_cache(self):
        if self.cache is not None:
            self._cache_io(self.cache.evict, self._key)

    def _cache_io(self, operation, *args):
        try:
            return operation(*args)
        except (IOError, OSError) as exc:
            raise CacheUnusableError('the token cache at %s cannot be used (%s); fix its permissions, set XDG_CACHE_HOME, '
                                     'or set cache: false' % (self.cache.directory, exc.strerror or exc))


class _NoLock:
    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return False

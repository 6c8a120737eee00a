# -*- coding: utf-8 -*-
# Copyright (c) eightbyeight.contactnow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The local token cache shared by the modules and the lookup.

This is a private module of the collection: its interface may change without notice.

One JSON file per (api_url, username, address) under ``$XDG_CACHE_HOME/eightbyeight.contactnow``
(else ``~/.cache/...``).  The directory is 0700 and files are 0600; writes go to a temporary file
that replaces the entry atomically, and callers serialise read-decide-write with :meth:`locked`,
an ``flock`` on a side file, so forked lookup workers wait for the one that fetches.  An entry
holds the token, its expire time and when it was last confirmed valid -- never a password.

A cached token is handed out only to a caller presenting the password it was obtained with: the
entry keeps an HMAC-SHA256 of that password (never the password) under a random key kept in the
directory (``credential.key``, 0600), and a mismatch is a miss.  A keyed hash rather than a slow
one (PBKDF2): the lookup checks it in every forked worker, 200 times in a 200-host play, and a slow
hash cost more than everything else the lookup does on a cache hit.  Without the key an entry tells
nothing about the password; whoever can read the key can also read the tokens themselves.
The directory must belong to the current user and not be a symbolic link, and entry and lock
files are opened without following symbolic links, so another local user cannot plant or
redirect them (the checks and writes are ``_safe_file``'s, shared with the password store).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import hashlib
import hmac
import json
import os
import tempfile

from ansible_collections.eightbyeight.contactnow.plugins.module_utils import _safe_file as safe_file

CACHE_SUBDIR = 'eightbyeight.contactnow'

_KEY_FILE = 'credential.key'
_KEY_BYTES = 32
_NOFOLLOW = safe_file.NOFOLLOW
# What to do about each unsafe directory, after _safe_file's reason.
_ADVICE = (('symbolic link', '; point XDG_CACHE_HOME at a real directory'), ('another user', ', who could read or plant tokens'))


class UnsafeCacheDirectory(safe_file.UnsafePath):
    """The cache directory is not safe to use (another owner, a symbolic link, not a directory)."""


def credential_tag(key, entry_key, password):
    """Hex HMAC-SHA256 of ``password`` for one entry, under the directory's secret ``key`` (bytes)."""
    message = entry_key.encode('ascii') + b'\0' + password.encode('utf-8')
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def default_cache_dir():
    base = os.environ.get('XDG_CACHE_HOME') or os.path.join(os.path.expanduser('~'), '.cache')
    return os.path.join(base, CACHE_SUBDIR)


class CacheEntry:
    """A cached token: ``token``, ``expire``, ``checked_at`` (epoch seconds of the last validation) and
    ``lifetime`` (seconds a freshly issued token was seen to last for the account, when known)."""

    def __init__(self, token, expire, checked_at, lifetime=None):
        self.token = token
        self.expire = int(expire)
        self.checked_at = float(checked_at)
        self.lifetime = int(lifetime) if lifetime is not None else None

    def trusted(self, now, min_ttl, trust_for):
        """Believed valid without asking the API: confirmed less than ``trust_for`` seconds ago (None: never)
        and still ``min_ttl`` seconds from its expiry."""
        return trust_for is not None and now - self.checked_at < trust_for and self.expire - now >= min_ttl


class TokenCache:
    """Cached tokens on the machine that runs the plugin."""

    def __init__(self, directory=None):
        self.directory = directory or default_cache_dir()
        self._key_bytes = None

    @staticmethod
    def key(api_url, username, address=None):
        """The file stem for an account; hashed so no name or URL leaks into the file system."""
        identity = json.dumps([api_url.rstrip('/'), username or '', address or ''])
        return hashlib.sha256(identity.encode('utf-8')).hexdigest()[:32]

    def read(self, key, password=None):
        """The entry for ``key`` written for ``password``, or None (absent, unreadable, corrupt, or
        obtained with another password)."""
        try:
            fd = os.open(self._path(key), os.O_RDONLY | _NOFOLLOW)
            with os.fdopen(fd, 'r') as handle:
                data = json.load(handle)
            if not self._credential_matches(key, data.get('credential'), password):
                return None
            token = data['token']
            if not isinstance(token, str):
                return None
            return CacheEntry(token, data['expire'], data.get('checked_at', 0), data.get('lifetime'))
        except (IOError, OSError, ValueError, KeyError, TypeError, AttributeError):
            return None

    def trusted_entry(self, key, password, min_ttl, trust_for, clock):
        """The entry for ``key`` and ``password`` if it is :meth:`CacheEntry.trusted` now (``clock()``), else
        None -- also when the cache cannot be used: the caller's full path (``TokenManager.ensure``) then
        decides and reports.

        Read and judged under the account's lock, so a renewal in progress (which deletes the old token)
        is waited for, and the time spent waiting counts.
        """
        try:
            with self.locked(key):
                entry = self.read(key, password)
                if entry is not None and entry.trusted(clock(), min_ttl, trust_for):
                    return entry
        except OSError:
            pass
        return None

    def write(self, key, token, expire, checked_at, password=None, lifetime=None):
        """Store an entry; with ``password``, only a caller presenting it will read the entry back."""
        self._ensure_directory()
        entry = {'token': token, 'expire': int(expire), 'checked_at': checked_at}
        if password is not None:
            entry['credential'] = {'hmac': credential_tag(self._secret_key(), key, password)}
        if lifetime is not None:
            entry['lifetime'] = int(lifetime)
        # No sync: the rename keeps readers from ever seeing half an entry, and an entry lost in a
        # crash costs one get, while an fsync costs 5-15 ms on every write.
        safe_file.replace_atomically(self._path(key), json.dumps(entry).encode('utf-8'), sync=False)

    def evict(self, key):
        _remove_quietly(self._path(key))

    def locked(self, key):
        """The account's lock, already held, for ``with``: a read-decide-write sequence runs alone.

        Acquired here rather than on ``__enter__`` so that an unusable directory fails at this call.
        """
        self._ensure_directory()
        return safe_file.HeldLock(os.path.join(self.directory, key + '.lock'))

    def _credential_matches(self, key, stored, password):
        """True when the entry was written for ``password``; an entry without a tag only for no password."""
        if stored is None or password is None:
            return stored is None and password is None
        try:
            expected = stored['hmac']
            if not isinstance(expected, str):
                return False
            return hmac.compare_digest(credential_tag(self._secret_key(), key, password), expected)
        except (KeyError, TypeError, ValueError, UnicodeError):
            return False

    def _secret_key(self):
        """The directory's random HMAC key, created on first use.

        Created complete or not at all (written to a temporary file, then linked into place), so a
        concurrent reader never sees half a key; of two processes creating it at once, the second
        one's link fails and it reads the first one's key.  A key of the wrong size (damaged) is
        replaced, which turns every entry into a miss.
        """
        if self._key_bytes is None:
            self._key_bytes = self._load_or_create_key()
        return self._key_bytes

    def _load_or_create_key(self):
        self._ensure_directory()
        path = os.path.join(self.directory, _KEY_FILE)
        for _attempt in range(3):
            try:
                fd = os.open(path, os.O_RDONLY | _NOFOLLOW)
            except OSError as exc:
                if exc.errno != errno.ENOENT:
                    raise
            else:
                with os.fdopen(fd, 'rb') as handle:
                    key = handle.read(_KEY_BYTES + 1)
                if len(key) == _KEY_BYTES:
                    return key
                _remove_quietly(path)
            fd, temp_path = tempfile.mkstemp(prefix='.key.', dir=self.directory)  # 0600
            try:
                with os.fdopen(fd, 'wb') as handle:
                    handle.write(os.urandom(_KEY_BYTES))
                os.link(temp_path, path)
            except OSError as exc:
                if exc.errno != errno.EEXIST:
                    raise
            finally:
                _remove_quietly(temp_path)
        raise OSError(errno.EIO, 'its key file %s keeps changing' % path)

    def _path(self, key):
        return os.path.join(self.directory, key + '.json')

    def _ensure_directory(self):
        try:
            safe_file.secure_directory(self.directory, create=True)
        except safe_file.UnsafePath as exc:
            reason = exc.strerror
            raise UnsafeCacheDirectory(reason + ''.join(advice for needle, advice in _ADVICE if needle in reason))


def _remove_quietly(path):
    try:
        os.remove(path)
    except OSError:
        pass

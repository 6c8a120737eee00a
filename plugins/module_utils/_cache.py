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
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import fcntl
import hashlib
import json
import os
import tempfile

CACHE_SUBDIR = 'eightbyeight.contactnow'


def default_cache_dir():
    base = os.environ.get('XDG_CACHE_HOME') or os.path.join(os.path.expanduser('~'), '.cache')
    return os.path.join(base, CACHE_SUBDIR)


class CacheEntry:
    """A cached token: ``token``, ``expire`` and ``checked_at`` (epoch seconds of the last validation)."""

    def __init__(self, token, expire, checked_at):
        self.token = token
        self.expire = int(expire)
        self.checked_at = float(checked_at)


class TokenCache:
    """Cached tokens on the machine that runs the plugin."""

    def __init__(self, directory=None):
        self.directory = directory or default_cache_dir()

    @staticmethod
    def key(api_url, username, address=None):
        """The file stem for an account; hashed so no name or URL leaks into the file system."""
        identity = json.dumps([api_url.rstrip('/'), username or '', address or ''])
        return hashlib.sha256(identity.encode('utf-8')).hexdigest()[:32]

    def read(self, key):
        """The entry for ``key``, or None when absent or unreadable (a corrupt file is a miss)."""
        try:
            with open(self._path(key), 'r') as handle:
                data = json.load(handle)
            return CacheEntry(data['token'], data['expire'], data.get('checked_at', 0))
        except (IOError, OSError, ValueError, KeyError, TypeError):
            return None

    def write(self, key, token, expire, checked_at):
        self._ensure_directory()
        payload = json.dumps({'token': token, 'expire': int(expire), 'checked_at': checked_at})
        fd, temp_path = tempfile.mkstemp(prefix='.%s.' % key, dir=self.directory)  # mkstemp creates it 0600
        try:
            with os.fdopen(fd, 'w') as handle:
                handle.write(payload)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp_path, self._path(key))
        except BaseException:
            _remove_quietly(temp_path)
            raise

    def evict(self, key):
        _remove_quietly(self._path(key))

    def locked(self, key):
        """The account's lock, already held, for ``with``: a read-decide-write sequence runs alone.

        Acquired here rather than on ``__enter__`` so that an unusable directory fails at this call.
        """
        self._ensure_directory()
        return _HeldLock(os.path.join(self.directory, key + '.lock'))

    def _path(self, key):
        return os.path.join(self.directory, key + '.json')

    def _ensure_directory(self):
        try:
            os.makedirs(self.directory, 0o700)
        except OSError as exc:
            if exc.errno != errno.EEXIST:
                raise
        # makedirs honours the umask and leaves an existing directory alone: enforce 0700.
        if os.stat(self.directory).st_mode & 0o777 != 0o700:
            os.chmod(self.directory, 0o700)


class _HeldLock:
    def __init__(self, path):
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        except BaseException:
            os.close(self._fd)
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        os.close(self._fd)  # closing the descriptor releases the lock
        return False


def _remove_quietly(path):
    try:
        os.remove(path)
    except OSError:
        pass

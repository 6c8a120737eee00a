# -*- coding: utf-8 -*-
# Copyright (c) eightbyeight.contactnow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Files that hold secrets: what the token cache and the password store both need.

This is a private module of the collection: its interface may change without notice.

- A directory is the current user's, not a symbolic link, and 0700 (made so whether or not it existed).
- Files are opened without following symbolic links and are 0600 from the moment they exist
  (``O_EXCL`` or ``mkstemp``, never the umask's mode first).
- A replaced file is written to a temporary file and renamed over the old one, so a reader sees
  the old content or the new, never a part; with ``sync`` the data and the directory entry are on
  disk when the call returns.
- :class:`HeldLock` is an ``flock`` on a file or a directory, so a read-decide-write runs alone.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import fcntl
import os
import stat
import tempfile

FILE_MODE = 0o600
DIR_MODE = 0o700
NOFOLLOW = getattr(os, 'O_NOFOLLOW', 0)


class UnsafePath(OSError):
    """A path that must not be used (a symbolic link, another owner, not a directory); ``strerror`` says why."""

    def __init__(self, reason):
        super(UnsafePath, self).__init__(errno.EPERM, reason)


def check_owner(st, what):
    """Refuse a file or directory (its ``os.stat`` result) that the current user does not own."""
    if st.st_uid != os.geteuid():
        raise UnsafePath('%s is owned by another user (uid %d, not %d)' % (what, st.st_uid, os.geteuid()))


def secure_directory(directory, create=True):
    """``directory`` as it must be: ours, a real directory, 0700 when ``create`` (made so if missing)."""
    if create:
        try:
            os.makedirs(directory, DIR_MODE)
        except OSError as exc:
            if exc.errno != errno.EEXIST:
                raise
    st = os.lstat(directory)
    if stat.S_ISLNK(st.st_mode):
        raise UnsafePath('it is a symbolic link')
    if not stat.S_ISDIR(st.st_mode):
        raise UnsafePath('it is not a directory')
    check_owner(st, 'it')
    # makedirs honours the umask and leaves an existing directory alone: enforce 0700.
    if create and stat.S_IMODE(st.st_mode) != DIR_MODE:
        os.chmod(directory, DIR_MODE)


def read_bytes(path, check_owned=True):
    """The content of ``path``, or None when it does not exist; a symbolic link raises UnsafePath."""
    try:
        fd = os.open(path, os.O_RDONLY | NOFOLLOW)
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return None
        if exc.errno == errno.ELOOP:
            raise UnsafePath('it is a symbolic link')
        raise
    with os.fdopen(fd, 'rb') as handle:
        if check_owned:
            check_owner(os.fstat(handle.fileno()), 'it')
        return handle.read()


def create_exclusive(path, data, sync=True):
    """Create ``path`` 0600 holding ``data`` (bytes); False, touching nothing, when it already exists."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | NOFOLLOW, FILE_MODE)
    except OSError as exc:
        if exc.errno == errno.EEXIST:
            return False
        raise
    try:
        os.fchmod(fd, FILE_MODE)  # the umask can only narrow the mode; make it exact
        _write_all(fd, data, sync)
    except BaseException:
        remove(path)
        raise
    if sync:
        sync_directory(os.path.dirname(path))
    return True


def replace_atomically(path, data, sync=True):
    """``path`` holds ``data`` (bytes) afterwards, or its old content: never a part, never another mode."""
    directory = os.path.dirname(path)
    fd, temp_path = tempfile.mkstemp(prefix='.%s.' % os.path.basename(path), dir=directory)  # created 0600
    try:
        _write_all(fd, data, sync)
        # rename replaces a symbolic link itself, never the file it points to.
        os.replace(temp_path, path)
    except BaseException:
        remove(temp_path)
        raise
    if sync:
        sync_directory(directory)


def remove(path):
    """Remove ``path``; False when it was not there."""
    try:
        os.remove(path)
        return True
    except OSError as exc:
        if exc.errno != errno.ENOENT:
            raise
        return False


def sync_directory(directory):
    """Put the directory's entries (a create, rename or remove) on disk."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class HeldLock:
    """An exclusive ``flock``, already held, for ``with``; released when the block ends.

    On a file (created 0600 if missing, never through a symbolic link), or on a directory itself,
    which needs no file of its own.
    """

    def __init__(self, path, directory=False):
        flags = os.O_RDONLY if directory else os.O_RDWR | os.O_CREAT
        self._fd = os.open(path, flags | NOFOLLOW, FILE_MODE)
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


def _write_all(fd, data, sync):
    with os.fdopen(fd, 'wb') as handle:
        handle.write(data)
        if sync:
            handle.flush()
            os.fsync(handle.fileno())

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) eightbyeight.contactnow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: contactnow_password_store
short_description: The file store of the rotate_password role (a live and a pending password, safely)
version_added: 0.1.0
description:
  - Reads and writes the password store file of the C(eightbyeight.contactnow.rotate_password) role and its
    C(<path>.pending) file. The role uses it for its built-in C(file) store; a user's own C(tasks) store may use
    it too. It talks to no API.
  - Files are created 0600 from the moment they exist (never with the umask's mode first), written to a
    temporary file and renamed into place, and synced to disk. The directory is made 0700 whether or not it
    existed. A directory or file owned by another user, or a symbolic link, is refused.
  - O(action=record_pending) is create-exclusive, so two overlapping runs can never replace each other's pending
    password; the second one gets RV(conflict=true).
options:
  path:
    description: The store file. Its pending password lives in C(<path>.pending).
    type: path
    required: true
  action:
    description:
      - V(read) returns the file's and the pending file's content.
      - V(record_pending) creates the pending file with O(value), unless it exists (then RV(conflict=true)), and
        returns the live content read again afterwards.
      - V(make_live) makes O(value) the file's content and removes the pending file.
      - V(drop_pending) removes the pending file.
    type: str
    required: true
    choices: [read, record_pending, make_live, drop_pending]
  value:
    description: The content to write (a password, or a vault-encrypted one), for V(record_pending) and V(make_live).
    type: str
author:
  - ContactNow collection maintainers (@eightbyeight)
extends_documentation_fragment:
  - eightbyeight.contactnow.attributes
attributes:
  check_mode:
    support: full
    details:
      - V(read) runs in check mode; the writes change nothing and report C(changed=true).
  diff_mode:
    support: none
  idempotent:
    support: partial
    details:
      - V(read) and V(drop_pending) are idempotent; V(record_pending) is create-exclusive by design.
notes:
  - Not in the C(eightbyeight.contactnow.contactnow) action group, since it takes no connection options.
  - RV(rotated_at) is the store file's modification time, so the file keeps the password as its whole content.
    Only this module should write the file; anything that rewrites it (even with the same content) makes the
    password look newer.
'''

EXAMPLES = r'''
- name: Record a pending password, create-exclusive
  eightbyeight.contactnow.contactnow_password_store:
    path: /var/lib/contactnow/api-user.password
    action: record_pending
    value: "{{ next_password }}"
  no_log: true
  register: pending
'''

RETURN = r'''
live:
  description: The store file's content (V(null) when it does not exist). For V(read) and V(record_pending).
  returned: success
  type: str
pending:
  description: The pending file's content (V(null) when it does not exist). For V(read), and for V(record_pending) on a conflict.
  returned: success
  type: str
rotated_at:
  description:
    - For V(read), when the live password became live (the store file's last write, which V(make_live) makes), as
      ISO 8601 UTC (C(2026-12-04T17:00:00Z)); V(null) when the store file does not exist.
  returned: success
  type: str
  sample: '2026-12-04T17:00:00Z'
conflict:
  description: For V(record_pending), V(true) when a pending file already existed (another run is rotating).
  returned: success
  type: bool
'''

import datetime
import errno
import os
import stat
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes, to_text

FILE_MODE = 0o600
DIR_MODE = 0o700


class StoreError(Exception):
    """A store that cannot be used safely; the message names the path, never a content."""


def _check_owned(path, st, kind):
    if st.st_uid != os.geteuid():
        raise StoreError('the store %s %s is owned by uid %d, not by the user running the role (uid %d); '
                         'fix its ownership' % (kind, path, st.st_uid, os.geteuid()))


def ensure_directory(directory, create):
    """The store's directory, owned by us and 0700 (made so whether or not it existed)."""
    try:
        st = os.lstat(directory)
    except OSError as exc:
        if exc.errno != errno.ENOENT or not create:
            raise
        os.makedirs(directory, DIR_MODE)
        st = os.lstat(directory)
    if not stat.S_ISDIR(st.st_mode):
        raise StoreError('the store directory %s is not a directory (a symbolic link is not accepted)' % directory)
    _check_owned(directory, st, 'directory')
    if create and stat.S_IMODE(st.st_mode) != DIR_MODE:
        os.chmod(directory, DIR_MODE)


def read_file(path):
    """The content of ``path``, or None when it does not exist; never follows a symbolic link."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return None
        if exc.errno == errno.ELOOP:
            raise StoreError('the store file %s is a symbolic link, which is not accepted' % path)
        raise
    with os.fdopen(fd, 'rb') as handle:
        _check_owned(path, os.fstat(handle.fileno()), 'file')
        return to_text(handle.read(), errors='surrogate_or_strict')


def modified_at(path):
    """When ``path`` was last written, ISO 8601 UTC to the second; None when it does not exist."""
    try:
        mtime = os.lstat(path).st_mtime
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return None
        raise
    return datetime.datetime.fromtimestamp(int(mtime), datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


def _write_all(fd, value):
    with os.fdopen(fd, 'wb') as handle:
        handle.write(to_bytes(value, errors='surrogate_or_strict'))
        handle.flush()
        os.fsync(handle.fileno())


def _sync_directory(directory):
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def create_exclusive(path, value):
    """Create ``path`` 0600 holding ``value``; False when it already exists."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, FILE_MODE)
    except OSError as exc:
        if exc.errno == errno.EEXIST:
            return False
        raise
    try:
        os.fchmod(fd, FILE_MODE)  # the umask can only narrow the mode; make it exact
        _write_all(fd, value)
    except BaseException:
        _remove(path)
        raise
    _sync_directory(os.path.dirname(path))
    return True


def replace_atomically(path, value):
    """``path`` holds ``value`` afterwards, or its old content: never a partial or world-readable file."""
    directory = os.path.dirname(path)
    try:
        _check_owned(path, os.lstat(path), 'file')
    except OSError as exc:
        if exc.errno != errno.ENOENT:
            raise
    fd, temp_path = tempfile.mkstemp(prefix='.%s.' % os.path.basename(path), dir=directory)  # created 0600
    try:
        _write_all(fd, value)
        os.rename(temp_path, path)
    except BaseException:
        _remove(temp_path)
        raise
    _sync_directory(directory)


def _remove(path):
    try:
        os.remove(path)
        return True
    except OSError as exc:
        if exc.errno != errno.ENOENT:
            raise
        return False


def run_module(module):
    path = module.params['path']
    action = module.params['action']
    value = module.params['value']
    pending_path = path + '.pending'
    directory = os.path.dirname(os.path.abspath(path))
    writes = action != 'read'
    if action in ('record_pending', 'make_live') and not value:
        raise StoreError('value is required for action=%s' % action)
    if module.check_mode and writes:
        return dict(changed=True)

    if not writes:
        if not os.path.lexists(directory):
            return dict(changed=False, live=None, pending=None, rotated_at=None)
        ensure_directory(directory, create=False)
        live = read_file(path)
        return dict(changed=False, live=live, pending=read_file(pending_path),
                    rotated_at=modified_at(path) if live is not None else None)

    ensure_directory(directory, create=True)
    if action == 'record_pending':
        if not create_exclusive(pending_path, value):
            return dict(changed=False, conflict=True, live=read_file(path), pending=read_file(pending_path))
        return dict(changed=True, conflict=False, live=read_file(path))
    if action == 'make_live':
        replace_atomically(path, value)
        _remove(pending_path)
        return dict(changed=True)
    return dict(changed=_remove(pending_path))


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type='path', required=True),
            action=dict(type='str', required=True, choices=['read', 'record_pending', 'make_live', 'drop_pending']),
            value=dict(type='str', no_log=True),
        ),
        supports_check_mode=True,
    )
    try:
        result = run_module(module)
    except StoreError as exc:
        module.fail_json(msg=str(exc))
    except (IOError, OSError) as exc:
        module.fail_json(msg='the password store at %s cannot be used: %s' % (module.params['path'], exc.strerror or exc))
    module.exit_json(**result)


if __name__ == '__main__':
    main()

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) eightbyeight.contactnow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: contactnow_password_store
short_description: Read and write the rotate_password role's store, a file or a HashiCorp Vault secret
version_added: 0.1.0
description:
  - Reads and writes the password store file of the C(eightbyeight.contactnow.rotate_password) role and its
    C(<path>.pending) file. The role uses it for its built-in C(file) store; a user's own C(tasks) store may use
    it too. It talks to no API.
  - With O(backend=hashi_vault) it keeps them in a HashiCorp Vault / OpenBao KV version 2 secret instead (the role's
    built-in C(hashi_vault) store); the file options and notes below do not apply then.
  - Files are created 0600 from the moment they exist (never with the umask's mode first), written to a
    temporary file and renamed into place, and synced to disk. The directory is made 0700 whether or not it
    existed. A directory or file owned by another user, or a symbolic link, is refused.
  - Every write after a read is B(conditional on the store being as that read saw it), so two runs never undo
    each other. O(action=record_pending) is create-exclusive; O(action=make_live) replaces the file only while it
    still holds O(expected_live); O(action=drop_pending) removes the pending file only while it still holds
    O(value). A write whose condition fails changes nothing and returns RV(conflict=true). The check and the
    write run under an exclusive lock (C(flock)) on the store's directory.
  - A relative O(path) is made absolute (against the working directory of the module) before anything is done.
  - A plain password that begins or ends with white space is refused, since reading the store ignores white space
    around a password (a file written by hand with C(echo) ends with a newline). Vault-encrypted content is kept
    as it is.
options:
  backend:
    description:
      - V(file) keeps the passwords in O(path) and C(<path>.pending).
      - V(hashi_vault) keeps them in one HashiCorp Vault / OpenBao KV version 2 secret, O(vault_path) under O(vault_mount),
        with the keys C(password) (live), C(pending) (only while a rotation is in flight) and C(rotated_at) (when C(password)
        became live, written by V(make_live)). Every write is check-and-set on O(version). V(read) checks the mount
        (KV version 2, usable by the token) and fails on a deleted or destroyed latest version, naming it.
    type: str
    choices: [file, hashi_vault]
    default: file
  path:
    description: The store file, for O(backend=file). Its pending password lives in C(<path>.pending).
    type: path
  action:
    description:
      - V(read) returns the file's and the pending file's content.
      - V(record_pending) creates the pending file with O(value), unless it exists (then RV(conflict=true)), and
        returns the live content read again afterwards.
      - V(make_live) makes O(value) the file's content, only while the file still holds O(expected_live), and then
        removes the pending file if it still holds O(pending).
      - V(drop_pending) removes the pending file, only while it still holds O(value).
    type: str
    required: true
    choices: [read, record_pending, make_live, drop_pending]
  value:
    description:
      - For V(record_pending) and V(make_live), the content to write (a password, or a vault-encrypted one).
      - For V(drop_pending), the content the pending entry must still hold to be removed (what this run recorded).
    type: str
  expected_live:
    description:
      - For V(make_live), and required there, the live password as this run read it; V("") when there was none.
      - When the store holds anything else now (another run changed it), nothing is written and RV(conflict=true).
    type: str
  pending:
    description:
      - For V(make_live) with O(backend=file), the pending file's content as this run read or recorded it. The pending
        file is removed only while it still holds it; another run's pending password is never removed. Unset, the
        pending file is left as it is. (The Vault backend removes the C(pending) key in the same check-and-set write.)
    type: str
author:
  - ContactNow collection maintainers (@eightbyeight)
extends_documentation_fragment:
  - eightbyeight.contactnow.attributes
  - eightbyeight.contactnow.hashi_vault
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
      - V(read) never changes anything; V(make_live) and V(drop_pending) change nothing once done (the
        condition fails); V(record_pending) is create-exclusive by design.
notes:
  - Not in the C(eightbyeight.contactnow.contactnow) action group, since it takes no connection options.
  - With O(backend=file), RV(rotated_at) is the store file's modification time, so the file keeps the password as
    its whole content. Only this module should write the file; anything that rewrites it (even with the same
    content) makes the password look newer.
"""

EXAMPLES = r"""
- name: Read the store
  eightbyeight.contactnow.contactnow_password_store:
    path: /var/lib/contactnow/api-user.password
    action: read
  no_log: true
  register: store

- name: Record a pending password, create-exclusive
  eightbyeight.contactnow.contactnow_password_store:
    path: /var/lib/contactnow/api-user.password
    action: record_pending
    value: "{{ next_password }}"
  no_log: true
  register: pending

- name: Make it live, only if no other run changed the store since it was read
  eightbyeight.contactnow.contactnow_password_store:
    path: /var/lib/contactnow/api-user.password
    action: make_live
    value: "{{ next_password }}"
    expected_live: "{{ store.live | default('', true) }}"
    pending: "{{ next_password }}"
  no_log: true
  register: finalised
  failed_when: finalised.conflict

- name: Read an account's passwords from Vault (VAULT_ADDR and VAULT_TOKEN from the environment)
  eightbyeight.contactnow.contactnow_password_store:
    backend: hashi_vault
    vault_path: contactnow/api-user
    action: read
  no_log: true
  register: stored
"""

RETURN = r"""
live:
  description: The store file's content (V(null) when it does not exist). For V(read) and V(record_pending).
  returned: success
  type: str
pending:
  description: The pending file's content (V(null) when it does not exist). For V(read), and for V(record_pending) on a conflict.
  returned: success
  type: str
version:
  description:
    - With O(backend=hashi_vault), the KV version read, or written by this action (V(0) when the secret does not exist).
    - Always V(null) with O(backend=file).
  returned: success
  type: int
conflict:
  description:
    - For the writes, V(true) when the store is no longer as this run read it, so nothing was written.
    - V(record_pending) -- a pending entry already exists (another run is rotating).
    - V(make_live) -- the store no longer holds O(expected_live) (with O(backend=hashi_vault), also another version).
    - V(drop_pending) -- the pending entry no longer holds O(value) (or is gone).
    - With O(backend=hashi_vault), RV(version), RV(live) and RV(pending) then describe the secret as it is now.
  returned: success
  type: bool
rotated_at:
  description:
    - For V(read), when the live password became live, as ISO 8601 UTC (C(2026-12-04T17:00:00Z)); V(null) when there
      is no live password or its age is not known.
    - O(backend=file) -- the store file's last write, which V(make_live) makes.
    - O(backend=hashi_vault) -- the secret's C(rotated_at) key, which V(make_live) writes beside C(password).
  returned: success
  type: str
  sample: "2026-12-04T17:00:00Z"
"""

import datetime
import errno
import os

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes, to_text

from ansible_collections.eightbyeight.contactnow.plugins.module_utils import _safe_file as safe_file
from ansible_collections.eightbyeight.contactnow.plugins.module_utils import _vault

VAULT_HEADER = '$ANSIBLE_VAULT'


class StoreError(Exception):
    """A store that cannot be used safely; the message names the path, never a content."""


def ensure_directory(directory, create):
    """The store's directory, owned by us and 0700 (made so, when ``create``, whether or not it existed)."""
    try:
        safe_file.secure_directory(directory, create=create)
    except safe_file.UnsafePath as exc:
        raise StoreError('the store directory %s cannot be used: %s (a symbolic link or a directory owned by another '
                         'user is not accepted)' % (directory, exc.strerror))


def read_file(path):
    """The content of ``path``, or None when it does not exist; never follows a symbolic link."""
    try:
        data = safe_file.read_bytes(path)
    except safe_file.UnsafePath as exc:
        raise StoreError('the store file %s cannot be used: %s (a symbolic link or a file owned by another user is '
                         'not accepted)' % (path, exc.strerror))
    return None if data is None else to_text(data, errors='surrogate_or_strict')


def modified_at(path):
    """When ``path`` was last written, ISO 8601 UTC to the second; None when it does not exist."""
    try:
        mtime = os.lstat(path).st_mtime
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return None
        raise
    return datetime.datetime.fromtimestamp(int(mtime), datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


def create_exclusive(path, value):
    """Create ``path`` 0600 holding ``value``; False when it already exists."""
    return safe_file.create_exclusive(path, to_bytes(value, errors='surrogate_or_strict'))


def replace_atomically(path, value):
    """``path`` holds ``value`` afterwards, or its old content: never a partial or world-readable file."""
    read_file(path)  # refuses a symbolic link or another owner's file before it is replaced
    safe_file.replace_atomically(path, to_bytes(value, errors='surrogate_or_strict'))


def check_value(value):
    """Refuse a plain password that reading the store back would not return exactly."""
    if not value.startswith(VAULT_HEADER) and value != value.strip():
        raise StoreError('the password to store begins or ends with white space, which the file store does not keep '
                         '(reading it ignores white space around a password); choose a password without it')


def make_live(path, value, expected_live, pending):
    """Write ``value`` while the file holds ``expected_live``; then drop the pending file if it holds ``pending``."""
    if (read_file(path) or '') != expected_live:
        return dict(changed=False, conflict=True)
    safe_file.replace_atomically(path, to_bytes(value, errors='surrogate_or_strict'))
    if pending is not None and read_file(path + '.pending') == pending:
        safe_file.remove(path + '.pending')
        safe_file.sync_directory(os.path.dirname(path))
    return dict(changed=True, conflict=False)


def drop_pending(path, value):
    """Remove the pending file while it holds ``value``."""
    pending_path = path + '.pending'
    if read_file(pending_path) != value:
        return dict(changed=False, conflict=True)
    safe_file.remove(pending_path)
    safe_file.sync_directory(os.path.dirname(path))
    return dict(changed=True, conflict=False)


def run_module(module):
    # Absolute first: every later step (the directory, its sync) must name the same place.
    path = os.path.abspath(module.params['path'])
    action = module.params['action']
    value = module.params['value']
    pending_path = path + '.pending'
    directory = os.path.dirname(path)
    if action != 'read' and not value:
        raise StoreError('value is required for action=%s' % action)
    if action == 'make_live' and module.params['expected_live'] is None:
        raise StoreError('expected_live is required for action=make_live: the live content as this run read it '
                         '("" when there was none), so that another run\'s password is never overwritten')
    if action in ('record_pending', 'make_live'):
        check_value(value)
    if action == 'read':
        if not os.path.lexists(directory):
            return dict(changed=False, live=None, pending=None, version=None, rotated_at=None)
        ensure_directory(directory, create=False)
        live = read_file(path)
        return dict(changed=False, live=live, pending=read_file(pending_path), version=None,
                    rotated_at=modified_at(path) if live is not None else None)
    if module.check_mode:
        return dict(changed=True, conflict=False)

    ensure_directory(directory, create=True)
    if action == 'record_pending':
        if not create_exclusive(pending_path, value):
            return dict(changed=False, conflict=True, live=read_file(path), pending=read_file(pending_path))
        return dict(changed=True, conflict=False, live=read_file(path))
    # Compare and write under one lock, so that no other run writes in between.
    with safe_file.HeldLock(directory, directory=True):
        if action == 'make_live':
            return make_live(path, value, module.params['expected_live'], module.params['pending'])
        return drop_pending(path, value)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type='path'),
            action=dict(type='str', required=True, choices=['read', 'record_pending', 'make_live', 'drop_pending']),
            value=dict(type='str', no_log=True),
            expected_live=dict(type='str', no_log=True),
            pending=dict(type='str', no_log=True),
            backend=dict(type='str', default='file', choices=['file', 'hashi_vault']),
            **_vault.ARGUMENT_SPEC
        ),
        required_if=[('backend', 'file', ['path'])],
        supports_check_mode=True,
    )
    try:
        if module.params['backend'] == 'hashi_vault':
            result = _vault.run(module.params, module.check_mode)
        else:
            result = run_module(module)
    except (StoreError, _vault.VaultError) as exc:
        module.fail_json(msg=str(exc))
    except (IOError, OSError) as exc:
        module.fail_json(msg='the password store at %s cannot be used: %s' % (module.params['path'], exc.strerror or exc))
    module.exit_json(**result)


if __name__ == '__main__':
    main()

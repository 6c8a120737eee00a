# -*- coding: utf-8 -*-
# Copyright (c) eightbyeight.contactnow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""_safe_file: what the token cache and the password store share."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fcntl
import os
import stat

import pytest

from ansible_collections.eightbyeight.contactnow.plugins.module_utils import _safe_file as safe_file


def mode(path):
    return stat.S_IMODE(os.lstat(str(path)).st_mode)


def test_a_directory_is_made_ours_and_0700(tmp_path):
    directory = tmp_path / 'made'
    safe_file.secure_directory(str(directory))
    assert mode(directory) == 0o700
    os.chmod(str(directory), 0o755)
    safe_file.secure_directory(str(directory), create=False)
    assert mode(directory) == 0o755  # only checked, when not creating
    safe_file.secure_directory(str(directory))
    assert mode(directory) == 0o700


@pytest.mark.parametrize('kind, reason', [('link', 'symbolic link'), ('file', 'not a directory')])
def test_a_directory_that_is_not_one_is_refused(tmp_path, kind, reason):
    path = tmp_path / 'path'
    if kind == 'link':
        path.symlink_to(tmp_path)
    else:
        path.write_text(u'x')
    with pytest.raises(safe_file.UnsafePath, match=reason):
        safe_file.secure_directory(str(path))


def test_another_owner_is_refused(tmp_path, monkeypatch):
    real_uid = os.geteuid()
    monkeypatch.setattr(os, 'geteuid', lambda: real_uid + 1)
    with pytest.raises(safe_file.UnsafePath, match=r'owned by another user \(uid %d, not %d\)' % (real_uid, real_uid + 1)):
        safe_file.secure_directory(str(tmp_path))


def test_files_are_0600_and_replaced_whole(tmp_path):
    old = os.umask(0)
    try:
        path = str(tmp_path / 'file')
        assert safe_file.create_exclusive(path, b'one')
        assert not safe_file.create_exclusive(path, b'two')
        assert mode(path) == 0o600
        safe_file.replace_atomically(path, b'three', sync=False)
        assert mode(path) == 0o600 and safe_file.read_bytes(path) == b'three'
    finally:
        os.umask(old)
    assert os.listdir(str(tmp_path)) == ['file']
    assert safe_file.remove(path) and not safe_file.remove(path)
    assert safe_file.read_bytes(path) is None


def test_a_symbolic_link_is_never_read_or_written_through(tmp_path):
    target = tmp_path / 'target'
    target.write_text(u'secret')
    link = tmp_path / 'link'
    link.symlink_to(target)
    with pytest.raises(safe_file.UnsafePath, match='symbolic link'):
        safe_file.read_bytes(str(link))
    assert not safe_file.create_exclusive(str(link), b'planted')
    safe_file.replace_atomically(str(link), b'replaced')  # replaces the link itself
    assert not os.path.islink(str(link)) and target.read_text() == u'secret'


def test_a_held_lock_on_a_directory_excludes_others(tmp_path):
    with safe_file.HeldLock(str(tmp_path), directory=True):
        fd = os.open(str(tmp_path), os.O_RDONLY)
        try:
            with pytest.raises(BlockingIOError):
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            os.close(fd)
    assert os.listdir(str(tmp_path)) == []  # a directory lock needs no file

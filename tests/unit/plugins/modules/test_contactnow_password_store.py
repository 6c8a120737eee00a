# -*- coding: utf-8 -*-
# Copyright (c) eightbyeight.contactnow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The rotate_password role's file store: modes from creation, create-exclusive pending, owners, links."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat

import pytest

from ansible_collections.eightbyeight.contactnow.plugins.modules import contactnow_password_store as store


@pytest.fixture
def umask_zero():
    old = os.umask(0)
    yield
    os.umask(old)


def mode(path):
    return stat.S_IMODE(os.lstat(str(path)).st_mode)


def test_pending_is_created_0600_under_umask_zero_and_exclusive(tmp_path, umask_zero):
    directory = tmp_path / 'store'
    store.ensure_directory(str(directory), create=True)
    pending = str(directory / 'password.pending')
    assert store.create_exclusive(pending, 'first-pending')
    assert mode(pending) == 0o600
    assert mode(directory) == 0o700
    # A second run never replaces the first run's pending password.
    assert not store.create_exclusive(pending, 'second-pending')
    assert store.read_file(pending) == 'first-pending'


def test_replace_is_atomic_and_0600_under_umask_zero(tmp_path, umask_zero):
    path = str(tmp_path / 'password')
    store.replace_atomically(path, 'one')
    assert mode(path) == 0o600
    store.replace_atomically(path, 'two')
    assert store.read_file(path) == 'two'
    assert mode(path) == 0o600
    assert sorted(os.listdir(str(tmp_path))) == ['password']  # no temporary file left behind


def test_an_existing_open_directory_is_made_0700(tmp_path):
    directory = tmp_path / 'open'
    directory.mkdir()
    os.chmod(str(directory), 0o755)
    store.ensure_directory(str(directory), create=True)
    assert mode(directory) == 0o700


def test_reading_leaves_the_directory_alone(tmp_path):
    directory = tmp_path / 'open'
    directory.mkdir()
    os.chmod(str(directory), 0o755)
    store.ensure_directory(str(directory), create=False)
    assert mode(directory) == 0o755


def test_a_symbolic_link_is_refused(tmp_path):
    target = tmp_path / 'elsewhere'
    target.write_text(u'secret')
    link = tmp_path / 'password'
    link.symlink_to(target)
    with pytest.raises(store.StoreError) as raised:
        store.read_file(str(link))
    assert 'symbolic link' in str(raised.value)
    linked_dir = tmp_path / 'linked-dir'
    linked_dir.symlink_to(tmp_path)
    with pytest.raises(store.StoreError):
        store.ensure_directory(str(linked_dir), create=True)


@pytest.mark.skipif(os.geteuid() != 0, reason='changing a file owner needs root')
def test_another_owner_is_refused(tmp_path):
    path = tmp_path / 'password'
    path.write_text(u'secret')
    os.chown(str(path), 65534, 65534)
    with pytest.raises(store.StoreError) as raised:
        store.read_file(str(path))
    assert 'owned by uid 65534' in str(raised.value)
    assert 'secret' not in str(raised.value)


def test_missing_files_read_as_none(tmp_path):
    assert store.read_file(str(tmp_path / 'absent')) is None

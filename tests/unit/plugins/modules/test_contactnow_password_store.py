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
    assert 'owned by another user (uid 65534' in str(raised.value)
    assert 'secret' not in str(raised.value)


def test_missing_files_read_as_none(tmp_path):
    assert store.read_file(str(tmp_path / 'absent')) is None


# -- every write after a read is conditional on the store being as read --------------------------


class FakeModule:
    """What run_module uses of AnsibleModule: params and check_mode."""

    def __init__(self, check_mode=False, **params):
        self.params = dict(dict(path=None, action=None, value=None, expected_live=None, pending=None), **params)
        self.check_mode = check_mode


def run(path, action, **params):
    return store.run_module(FakeModule(path=str(path), action=action, **params))


def test_make_live_writes_only_while_the_live_file_is_as_read(tmp_path):
    path = tmp_path / 'password'
    assert run(path, 'record_pending', value='pending-one')['conflict'] is False
    # Another run finished first: the live file is no longer empty, as this run read it.
    assert run(path, 'make_live', value='other-run', expected_live='', pending='other-run') == dict(changed=True, conflict=False)
    assert run(path, 'make_live', value='this-run', expected_live='', pending='pending-one') == dict(changed=False, conflict=True)
    assert store.read_file(str(path)) == 'other-run'
    assert store.read_file(str(path) + '.pending') == 'pending-one'  # not the other run's to drop
    assert run(path, 'make_live', value='pending-one', expected_live='other-run', pending='pending-one')['changed']
    assert run(path, 'read') == dict(
        changed=False, live='pending-one', pending=None, version=None, rotated_at=store.modified_at(str(path)))


def test_make_live_leaves_another_runs_pending_file(tmp_path):
    path = tmp_path / 'password'
    run(path, 'record_pending', value='someone-elses')
    assert run(path, 'make_live', value='mine', expected_live='', pending='mine')['changed']
    assert store.read_file(str(path) + '.pending') == 'someone-elses'
    assert run(path, 'make_live', value='again', expected_live='mine')['changed']  # no pending given: left alone
    assert store.read_file(str(path) + '.pending') == 'someone-elses'


def test_make_live_requires_the_live_content_as_read(tmp_path):
    with pytest.raises(store.StoreError, match='expected_live is required'):
        run(tmp_path / 'password', 'make_live', value='new-one')


def test_drop_pending_removes_only_this_runs_value(tmp_path):
    path = tmp_path / 'password'
    run(path, 'record_pending', value='another-runs')
    assert run(path, 'drop_pending', value='mine') == dict(changed=False, conflict=True)
    assert store.read_file(str(path) + '.pending') == 'another-runs'
    assert run(path, 'drop_pending', value='another-runs') == dict(changed=True, conflict=False)
    assert run(path, 'drop_pending', value='another-runs') == dict(changed=False, conflict=True)


def test_writes_change_nothing_in_check_mode(tmp_path):
    path = tmp_path / 'store' / 'password'
    for action, params in (('record_pending', {}), ('make_live', dict(expected_live='')), ('drop_pending', {})):
        result = store.run_module(FakeModule(check_mode=True, path=str(path), action=action, value='some-value', **params))
        assert result == dict(changed=True, conflict=False)
    assert not (tmp_path / 'store').exists()


def test_a_relative_path_is_made_absolute_before_anything_is_written(tmp_path, monkeypatch):
    monkeypatch.chdir(str(tmp_path))
    assert run('password', 'record_pending', value='pending-one') == dict(changed=True, conflict=False, live=None)
    assert run('password', 'make_live', value='pending-one', expected_live='', pending='pending-one')['changed']
    assert store.read_file(str(tmp_path / 'password')) == 'pending-one'
    assert not (tmp_path / 'password.pending').exists()
    assert mode(tmp_path / 'password') == 0o600


@pytest.mark.parametrize('value', [' leading-space', 'trailing-newline\n', '\ttab-first'])
def test_a_password_with_white_space_around_it_is_refused_before_it_is_written(tmp_path, value):
    for action in ('record_pending', 'make_live'):
        with pytest.raises(store.StoreError, match='begins or ends with white space') as raised:
            run(tmp_path / 'password', action, value=value, expected_live='')
        assert value.strip() not in str(raised.value)
    assert os.listdir(str(tmp_path)) == []


def test_vault_text_is_kept_as_it_is(tmp_path):
    vaulted = '$ANSIBLE_VAULT;1.1;AES256\n6162\n'
    run(tmp_path / 'password', 'make_live', value=vaulted, expected_live='')
    assert store.read_file(str(tmp_path / 'password')) == vaulted

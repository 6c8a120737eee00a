# -*- coding: utf-8 -*-
# Copyright (c) eightbyeight.contactnow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The file store's rotated_at: when the live password became live, without changing the file's content."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.eightbyeight.contactnow.plugins.modules import contactnow_password_store as store


class ReadOnlyModule:
    check_mode = False

    def __init__(self, path):
        self.params = dict(path=path, action='read', value=None)


def test_read_reports_the_live_file_write_time_in_utc(tmp_path):
    path = tmp_path / 'password'
    store.replace_atomically(str(path), u'Live-Password-1')
    os.utime(str(path), (1796000000.7, 1796000000.7))  # 2026-11-30T00:53:20.7Z
    result = store.run_module(ReadOnlyModule(str(path)))
    assert result['rotated_at'] == '2026-11-30T00:53:20Z'
    assert result['live'] == u'Live-Password-1'  # the content stays the password alone


def test_read_of_an_empty_store_has_no_rotated_at(tmp_path):
    assert store.run_module(ReadOnlyModule(str(tmp_path / 'password')))['rotated_at'] is None
    assert store.run_module(ReadOnlyModule(str(tmp_path / 'absent' / 'password')))['rotated_at'] is None


def test_a_pending_file_alone_has_no_rotated_at(tmp_path):
    path = tmp_path / 'password'
    assert store.create_exclusive(str(path) + '.pending', u'Pending-Password-2')
    result = store.run_module(ReadOnlyModule(str(path)))
    assert result['rotated_at'] is None
    assert result['pending'] == u'Pending-Password-2'

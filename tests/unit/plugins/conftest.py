# -*- coding: utf-8 -*-
# Copyright (c) eightbyeight.contactnow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Fixtures every unit test of the plugins shares: the clock, the fake API (two levels) and the cache.

The collection's modules are imported inside the fixtures, not here: pytest imports this file
before any test module, and the lookup's tests install Ansible's collection loader first when
they run outside ansible-test.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest


@pytest.fixture
def clock():
    """The ``now`` of every token decision and of the fake API's expiries; tests move it by hand."""
    from ansible_collections.eightbyeight.contactnow.tests.unit.plugins.clock import Clock
    from ansible_collections.eightbyeight.contactnow.tests.unit.plugins.fake_api import START
    return Clock(START)


@pytest.fixture
def api(clock):
    """token.php with two accounts (fake_api.USERNAME and OTHER_USERNAME) and no tokens yet."""
    from ansible_collections.eightbyeight.contactnow.tests.unit.plugins.fake_api import FakeApi
    return FakeApi(clock)


@pytest.fixture
def server(clock):
    """token.php and the records APIs as the client's transport (fake_api.FakeServer), no tokens yet."""
    from ansible_collections.eightbyeight.contactnow.tests.unit.plugins.fake_api import FakeServer
    return FakeServer(clock)


@pytest.fixture
def cache(tmp_path):
    """A token cache in the test's own directory (it is created on first write)."""
    from ansible_collections.eightbyeight.contactnow.plugins.module_utils._cache import TokenCache
    return TokenCache(str(tmp_path / 'cache'))

# -*- coding: utf-8 -*-
# Copyright (c) eightbyeight.contactnow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Fixtures of the lookups' unit tests, and Ansible's collection loader for them.

Lookups are loaded by name through ``lookup_loader``, which needs the collection loader.  Under
ansible-test it is installed already; under plain pytest this file installs it over this checkout
before pytest imports the test modules beside it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import atexit
import os
import shutil
import tempfile

import pytest


def _collections_root():
    """A directory holding ansible_collections/eightbyeight/contactnow for this checkout."""
    collection = os.path.abspath(__file__)
    for dummy in range(5):  # .../contactnow/tests/unit/plugins/lookup/<this file>
        collection = os.path.dirname(collection)
    if collection.split(os.sep)[-3:] == ['ansible_collections', 'eightbyeight', 'contactnow']:
        return os.path.dirname(os.path.dirname(os.path.dirname(collection)))
    # A plain checkout (or a path pytest resolved through a symlink): link it into a private tree.
    root = tempfile.mkdtemp(prefix='contactnow-units-')
    atexit.register(shutil.rmtree, root, True)
    os.makedirs(os.path.join(root, 'ansible_collections', 'eightbyeight'))
    os.symlink(collection, os.path.join(root, 'ansible_collections', 'eightbyeight', 'contactnow'))
    return root


def _install_collection_loader():
    from ansible.utils.collection_loader import AnsibleCollectionConfig
    if AnsibleCollectionConfig.collection_finder is None:  # ansible-test installs its own
        from ansible.plugins.loader import init_plugin_loader
        init_plugin_loader([_collections_root()])


_install_collection_loader()


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch, tmp_path):
    """No CONTACTNOW_* variable, no ansible.cfg, and a cache directory of the test's own."""
    from ansible import constants as C
    for name in list(os.environ):
        if name.startswith('CONTACTNOW_'):
            monkeypatch.delenv(name)
    monkeypatch.setenv('XDG_CACHE_HOME', str(tmp_path / 'xdg'))
    # No ansible.cfg: the ini tests point the config manager at their own file.
    monkeypatch.setattr(C.config, '_config_file', None)


@pytest.fixture
def built(request, monkeypatch, clock, cache):
    """Every TokenManager the lookup under test builds (its test module's ``LOOKUP``).

    Each talks through the client the test module's ``fake_client`` fixture makes from the options,
    with a cache in the test's directory and the test's clock.
    """
    from ansible.plugins.loader import lookup_loader
    from ansible_collections.eightbyeight.contactnow.plugins.module_utils._cache import TokenCache
    from ansible_collections.eightbyeight.contactnow.plugins.module_utils._token import TokenManager

    fake_client = request.getfixturevalue('fake_client')
    managers = []

    def token_manager(self, options, address):
        manager = TokenManager(options, client=fake_client(options), cache=TokenCache(cache.directory), address=address,
                               now=clock)
        managers.append(manager)
        return manager

    monkeypatch.setattr(lookup_loader.get(request.module.LOOKUP).__class__, '_token_manager', token_manager)
    return managers

# -*- coding: utf-8 -*-
# Copyright (c) eightbyeight.contactnow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: import_probe
short_description: Test helper - the modules one contactnow_token lookup evaluation imports
description:
  - Runs the eightbyeight.contactnow.contactnow_token lookup with the same variables and keywords
    and returns the names of the Python modules that were not imported before it ran.
author:
  - eightbyeight.contactnow maintainers
options: {}
'''

import sys

from ansible.plugins.loader import lookup_loader
from ansible.plugins.lookup import LookupBase


class LookupModule(LookupBase):

    def run(self, terms, variables=None, **kwargs):
        before = set(sys.modules)
        token_lookup = lookup_loader.get('eightbyeight.contactnow.contactnow_token', loader=self._loader, templar=self._templar)
        token_lookup.run([], variables=variables, **kwargs)
        return sorted(set(sys.modules) - before)

# -*- coding: utf-8 -*-
# Copyright (c) eightbyeight.contactnow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The sandbox server script (tests/sandbox/contactnow_sandbox.py), which is no package module, loaded
for the unit tests that drive it in-process."""

from __future__ import annotations

import importlib.util
import os

SANDBOX_PATH = os.path.join(os.path.dirname(__file__), "..", "..", "sandbox", "contactnow_sandbox.py")


def load_sandbox(name):
    """A fresh module object of the sandbox script, named ``name`` (not registered in sys.modules)."""
    spec = importlib.util.spec_from_file_location(name, SANDBOX_PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module

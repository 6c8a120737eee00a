# -*- coding: utf-8 -*-
# Copyright (c) eightbyeight.contactnow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # The options of contactnow_password_store's hashi_vault backend (plugins/module_utils/_vault.py).
    DOCUMENTATION = r'''
options:
  vault_url:
    description:
      - Address of the HashiCorp Vault or OpenBao server, for example V(https://vault.example.com:8200).
      - V(http://) is refused unless the host is this machine, so that the token never crosses the network in clear text.
      - If not set, the environment variable E(VAULT_ADDR) is used.
      - Required with O(backend=hashi_vault).
    type: str
  vault_token:
    description:
      - A Vault token whose policies allow the minimal policy of the rotation guide on the secret.
      - Sent only in the C(X-Vault-Token) header, never logged.
      - If not set, the environment variable E(VAULT_TOKEN) is used.
      - Give this, or O(vault_role_id) and O(vault_secret_id).
    type: str
  vault_role_id:
    description:
      - Role ID of an AppRole login (at C(auth/approle)), used when O(vault_token) is not given.
      - If not set, the environment variable E(VAULT_ROLE_ID) (or E(ANSIBLE_HASHI_VAULT_ROLE_ID)) is used.
    type: str
  vault_secret_id:
    description:
      - Secret ID of the AppRole login; never logged.
      - If not set, the environment variable E(VAULT_SECRET_ID) (or E(ANSIBLE_HASHI_VAULT_SECRET_ID)) is used.
    type: str
  vault_namespace:
    description:
      - Vault namespace (sent as the C(X-Vault-Namespace) header).
      - If not set, the environment variable E(VAULT_NAMESPACE) is used.
    type: str
  vault_mount:
    description:
      - Mount point of the KV version 2 secrets engine. A KV version 1 mount, or a path where nothing is mounted, fails O(action=read).
      - If not set, the environment variable E(CONTACTNOW_VAULT_MOUNT) is used.
    type: str
    default: secret
  vault_path:
    description:
      - Path of the account's secret under O(vault_mount), for example V(contactnow/api-user); each segment is URL-encoded.
      - If not set, the environment variable E(CONTACTNOW_VAULT_PATH) is used.
      - Required with O(backend=hashi_vault).
    type: str
  vault_ca_path:
    description:
      - CA bundle (or a directory of hashed CA certificates) to verify Vault's certificate with.
      - If not set, the environment variable E(VAULT_CACERT) is used.
    type: path
  vault_validate_certs:
    description:
      - Verify Vault's TLS certificate. Turn off only for tests.
      - If not set, the environment variable E(CONTACTNOW_VAULT_VALIDATE_CERTS) is used.
    type: bool
    default: true
  version:
    description:
      - For the writes with O(backend=hashi_vault), the KV version the caller last saw (RV(version) of the previous action).
        Every write is check-and-set on it; when the secret has another version the write changes nothing and returns
        RV(conflict=true).
    type: int
'''

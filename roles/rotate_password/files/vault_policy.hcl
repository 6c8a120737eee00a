# Copyright (c) eightbyeight.contactnow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# The minimal HashiCorp Vault / OpenBao policy for the rotate_password role's hashi_vault store,
# with the default mount (secret) and path (contactnow/<username>): read the account's KV
# version 2 secret (which also lets the store check the mount's type and version), create it,
# and write new versions of it. No delete, no metadata, no list. Adapt the path to your
# rotate_password_vault_mount / rotate_password_vault_path.
#   bao policy write contactnow-rotate vault_policy.hcl   (or: vault policy write ...)
path "secret/data/contactnow/*" {
  capabilities = ["create", "read", "update"]
}

#!/usr/bin/env bash
# Copyright (c) eightbyeight.contactnow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copy the collection into a tree ansible-test accepts:
#   DEST_ROOT/ansible_collections/eightbyeight/contactnow
# Used by the Makefile's ansible-test targets only. The antsibull-nox sessions stage the
# collection themselves, but ansible-test cannot run as one of them here (they use --docker, and
# there is no container engine), so this is what puts it where ansible-test wants it.
# Copied: tracked files plus untracked files that .gitignore does not exclude (so work in
# progress is tested), minus tracked files deleted from the work tree. File modes are kept
# (the shebang sanity test looks at the executable bit).
#
# The copy is rebuilt from scratch each time, except its tests/output/ (ansible-test's
# results), which is kept so a developer can inspect the last run.
#
# Usage: tools/local-ansible-test/stage_collection.sh DEST_ROOT   -> prints the collection path
set -euo pipefail

dest_root=${1:?usage: $0 DEST_ROOT}
repo=$(cd "$(dirname "$0")/../.." && pwd)

namespace=$(sed -n 's/^namespace:[[:space:]]*//p' "$repo/galaxy.yml" | tr -d "\"' ")
name=$(sed -n 's/^name:[[:space:]]*//p' "$repo/galaxy.yml" | tr -d "\"' ")
dest="$dest_root/ansible_collections/$namespace/$name"

mkdir -p "$dest"
dest=$(cd "$dest" && pwd)
[[ "$dest" != "$repo" ]] || { echo "refusing to stage onto the repository itself" >&2; exit 1; }

# Empty the copy, keeping tests/output.
find "$dest" -mindepth 1 -maxdepth 1 ! -name tests -exec rm -rf {} +
if [[ -d "$dest/tests" ]]; then
    find "$dest/tests" -mindepth 1 -maxdepth 1 ! -name output -exec rm -rf {} +
fi

cd "$repo"
git ls-files -z --cached --others --exclude-standard \
    | while IFS= read -r -d '' path; do
        # Tracked but deleted in the work tree, or a directory (submodule): skip.
        [[ -f "$path" || -L "$path" ]] && printf '%s\0' "$path"
    done \
    | tar --null --files-from=- --create --file=- \
    | tar --extract --file=- --directory="$dest"

echo "$dest"

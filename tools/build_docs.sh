#!/usr/bin/env bash
# Check and build the collection's documentation with antsibull-docs, offline.
#
#   1. antsibull-docs lint-collection-docs --plugin-docs: plugin and role docs, docs/docsite/
#      (extra-docs.yml, links.yml, the RST guides) and the references between them.
#   2. A Sphinx site (antsibull-docs sphinx-init + build), with warnings as errors: every RST
#      page renders and every reference inside this collection resolves.
#
# Offline adjustments, nothing else: intersphinx is switched off (it would fetch inventories
# from docs.python.org and docs.ansible.com), and so references to labels of other docsites
# (ansible.builtin plugins, the Ansible guides: anything not under
# ansible_collections.eightbyeight.contactnow.) cannot be checked here and are not reported.
#
# Usage: tools/build_docs.sh COLLECTIONS_ROOT DEST_DIR
#   COLLECTIONS_ROOT holds ansible_collections/eightbyeight/contactnow (see stage_collection.sh);
#   the HTML ends up in DEST_DIR/build/html.
# Runs the antsibull-docs and sphinx-build found on PATH.
set -euo pipefail

collections_root=$(cd "${1:?usage: $0 COLLECTIONS_ROOT DEST_DIR}" && pwd)
dest=${2:?usage: $0 COLLECTIONS_ROOT DEST_DIR}
collection=eightbyeight.contactnow
collection_dir="$collections_root/ansible_collections/${collection/.//}"

export ANSIBLE_COLLECTIONS_PATH="$collections_root"
export ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false

echo "== antsibull-docs lint-collection-docs"
(cd "$collection_dir" && antsibull-docs lint-collection-docs --plugin-docs .)

echo "== antsibull-docs sphinx site"
rm -rf "$dest"
mkdir -p "$dest"
antsibull-docs sphinx-init --use-current --dest-dir "$dest" "$collection"

cat >> "$dest/conf.py" <<'PY'

# --- added by tools/build_docs.sh: offline build ---
# No intersphinx: its inventories live on the internet.
extensions = [ext for ext in extensions if ext != 'sphinx.ext.intersphinx']
intersphinx_mapping = {}
# Labels of other docsites cannot be resolved without intersphinx; this collection's own
# labels (ansible_collections.eightbyeight.contactnow.*) are still checked.
nitpick_ignore_regex = [
    ('std:ref', r'(?!ansible_collections\.eightbyeight\.contactnow\.).*'),
]
PY

# What the generated build.sh does, with a quieter sphinx-build (-q: warnings only).
mkdir -p "$dest/rst"
chmod og-w "$dest/rst"  # antsibull-docs wants that directory only writable by itself
(
    cd "$dest"
    antsibull-docs --config-file antsibull-docs.cfg collection --cleanup everything \
        --use-current --dest-dir rst "$collection"
    sphinx-build -M html rst build -c . -W --keep-going -q
)
echo "docs: HTML in $dest/build/html/index.html"

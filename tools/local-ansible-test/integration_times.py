# Copyright (c) eightbyeight.contactnow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Print how long each integration target took, slowest first.

ansible-test integration writes tests/output/data/integration-<time>.json with each target's
run_time_seconds; this reads the newest one under the staged collection given as argument.
Usage: python tools/local-ansible-test/integration_times.py STAGED_COLLECTION_DIR
"""

import json
import pathlib
import sys


def main():
    data_dir = pathlib.Path(sys.argv[1]) / 'tests' / 'output' / 'data'
    runs = sorted(data_dir.glob('integration-*.json'), key=lambda path: path.stat().st_mtime)
    if not runs:
        print('no integration timing data in %s' % data_dir)
        return
    targets = json.loads(runs[-1].read_text())['targets']
    print('integration targets, slowest first (wall seconds):')
    for name, target in sorted(targets.items(), key=lambda item: -item[1]['run_time_seconds']):
        print('  %5d  %s' % (target['run_time_seconds'], name))
    print('  %5d  total' % sum(target['run_time_seconds'] for target in targets.values()))


if __name__ == '__main__':
    main()

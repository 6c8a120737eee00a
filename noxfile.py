# Copyright (c) eightbyeight.contactnow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""nox sessions of the collection: the antsibull-nox checks configured in antsibull-nox.toml,
plus the two that antsibull-nox has no session for here (the docsite build, the EE context).

`make lint`, `make docs`, `make checks` run them from the newest test virtual environment;
`nox -l` lists them. ansible-test is not among them: antsibull-nox runs it with --docker, and this
project has no container engine (the Makefile runs it with --venv).
"""

# /// script
# dependencies = ["nox>=2025.02.09", "antsibull-nox>=1.10,<2"]
# ///

import re
import sys
from pathlib import Path

import nox

try:
    import antsibull_nox
    from antsibull_nox.sessions import install_packages, prepare_collections
except ImportError:
    print('antsibull-nox must be installed beside nox: `make venv` installs both in .venv-<version>')
    sys.exit(1)

COLLECTION = 'eightbyeight.contactnow'

antsibull_nox.load_antsibull_nox_toml()

# Appended to the conf.py that `antsibull-docs sphinx-init` writes: the build runs offline.
OFFLINE_SPHINX_CONF = '''
# --- added by the docs-build nox session: offline build ---
# No intersphinx: its inventories live on the internet.
extensions = [ext for ext in extensions if ext != 'sphinx.ext.intersphinx']
intersphinx_mapping = {}
# Labels of other docsites cannot be resolved without intersphinx; this collection's own labels
# (ansible_collections.eightbyeight.contactnow.*) are still checked.
nitpick_ignore_regex = [
    ('std:ref', r'(?!ansible_collections\\.eightbyeight\\.contactnow\\.).*'),
]
'''


@nox.session(name='docs-build')
@install_packages(packages=['antsibull-docs', 'ansible-core'])
def docs_build(session: nox.Session) -> None:
    """Build the docsite with Sphinx, warnings as errors (docs-check lints; this renders)."""
    prepared = prepare_collections(session, install_in_site_packages=False, install_out_of_tree=True)
    if not prepared:
        session.error('cannot build the docs without a virtual environment (nox --no-venv)')
    dest = Path(session.create_tmp()) / 'docsite'
    session.run('rm', '-rf', str(dest), external=True)
    dest.mkdir(mode=0o755)  # antsibull-docs wants a directory only its owner can write to
    env = {'ANSIBLE_COLLECTIONS_PATH': str(prepared.current_place), 'ANSIBLE_COLLECTIONS_SCAN_SYS_PATH': 'false'}
    session.run('antsibull-docs', 'sphinx-init', '--use-current', '--dest-dir', str(dest), COLLECTION, env=env)
    with open(dest / 'conf.py', 'a', encoding='utf-8') as conf:
        conf.write(OFFLINE_SPHINX_CONF)
    session.install('-r', str(dest / 'requirements.txt'))
    # What the build.sh that sphinx-init writes does, with sphinx-build -W (warnings are errors).
    (dest / 'rst').mkdir(exist_ok=True)
    (dest / 'rst').chmod(0o755)  # likewise
    with session.chdir(dest):
        session.run('antsibull-docs', '--config-file', 'antsibull-docs.cfg', 'collection', '--cleanup', 'everything',
                    '--use-current', '--dest-dir', 'rst', COLLECTION, env=env)
        session.run('sphinx-build', '-M', 'html', 'rst', 'build', '-c', '.', '-W', '--keep-going', '-q', env=env)
    session.log('docs: HTML in %s' % (dest / 'build' / 'html' / 'index.html'))


# The guide whose EE definition ee-create builds a context from: what users run is what is tested.
EE_GUIDE = Path('docs/docsite/rst/awx-guide.rst')


def _runtime_requirements() -> list[str]:
    """The package names in requirements.txt, which the collection declares to ansible-builder."""
    names = []
    for line in Path('requirements.txt').read_text(encoding='utf-8').splitlines():
        name = re.split(r'[\s#<>=!~;\[]', line.strip(), maxsplit=1)[0]
        if name:
            names.append(name)
    return names


def _ee_definition_from_guide() -> str:
    """The YAML code block of the AWX guide that starts with `# execution-environment.yml`."""
    text = EE_GUIDE.read_text(encoding='utf-8')
    match = re.search(r'^( +)# execution-environment\.yml\n((?:\1.*\n|\n)+)', text, re.MULTILINE)
    if not match:
        raise ValueError('%s has no code block starting with "# execution-environment.yml"' % EE_GUIDE)
    indent = match.group(1)
    lines = (indent + '# execution-environment.yml\n' + match.group(2)).splitlines()
    return '\n'.join(line[len(indent):] for line in lines).strip() + '\n'


@nox.session(name='ee-create')
@install_packages(packages=['ansible-builder', 'ansible-core'])
def ee_create(session: nox.Session) -> None:
    """Execution environment: ansible-builder reads meta/execution-environment.yml from the
    installed collection, and `ansible-builder create` makes a build context from the guide's EE
    definition (`build` needs a container engine, which this project has none of)."""
    prepared = prepare_collections(session, install_in_site_packages=False, install_out_of_tree=True)
    if not prepared:
        session.error('cannot check the EE without a virtual environment (nox --no-venv)')
    tmp = Path(session.create_tmp())
    pip_file, bindep_file = tmp / 'introspect-pip.txt', tmp / 'introspect-bindep.txt'
    for path in (pip_file, bindep_file):
        path.unlink(missing_ok=True)
    # What the builder runs inside the image once the collection is installed.
    session.run('ansible-builder', 'introspect', '--sanitize', '--write-pip', str(pip_file),
                '--write-bindep', str(bindep_file), str(prepared.current_place))
    pip_lines = pip_file.read_text(encoding='utf-8') if pip_file.exists() else ''
    bindep_lines = bindep_file.read_text(encoding='utf-8') if bindep_file.exists() else ''
    for requirement in _runtime_requirements():
        if not re.search(r'^%s\b.*# from collection %s' % (requirement, re.escape(COLLECTION)), pip_lines, re.MULTILINE):
            session.error('ansible-builder does not see the Python requirement %s of %s; it saw:\n%s'
                          % (requirement, COLLECTION, pip_lines))
    if not re.search(r'^ca-certificates\b.*# from collection %s' % re.escape(COLLECTION), bindep_lines, re.MULTILINE):
        session.error('ansible-builder does not see bindep.txt of %s; it saw:\n%s' % (COLLECTION, bindep_lines))

    definition = tmp / 'execution-environment.yml'
    definition.write_text(_ee_definition_from_guide(), encoding='utf-8')
    context = tmp / 'context'
    session.run('rm', '-rf', str(context), external=True)
    # podman, the engine `ansible-builder build` uses by default, reads a Containerfile.
    session.run('ansible-builder', 'create', '--file', str(definition), '--context', str(context),
                '--output-filename', 'Containerfile')
    containerfile = context / 'Containerfile'
    requirements = context / '_build' / 'requirements.yml'
    if not containerfile.is_file() or not requirements.is_file():
        session.error('ansible-builder create made no Containerfile and _build/requirements.yml in %s' % context)
    if COLLECTION not in requirements.read_text(encoding='utf-8'):
        session.error('%s does not list %s' % (requirements, COLLECTION))
    if not re.search(r'^FROM ', containerfile.read_text(encoding='utf-8'), re.MULTILINE):
        session.error('%s has no FROM line' % containerfile)
    session.log('EE build context in %s (with a container engine: podman build -f %s %s)' % (context, containerfile, context))


# `python noxfile.py` works too (nox >= 2025.02.09).
if __name__ == '__main__':
    nox.main()

# -*- coding: utf-8 -*-
# Copyright (c) eightbyeight.contactnow contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""TokenCache: permissions, atomic writes, misses, eviction, keys, and the cross-process lock."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fcntl
import json
import multiprocessing
import os
import stat
import time

import pytest

from ansible_collections.eightbyeight.contactnow.plugins.module_utils._cache import (
    CACHE_SUBDIR,
    CacheEntry,
    TokenCache,
    UnsafeCacheDirectory,
    default_cache_dir,
)

TOKEN = 'bd932b769fc7263316345627d0a9ef3b8f8d1f8d'
EXPIRE = 1307975676
KEY = TokenCache.key('https://api.contactnow.8x8.com', 'apiuser')
JOIN_TIMEOUT = 30

# fork: the workers below are nested in this test module, which a spawned interpreter may not import
# by the same name; the cache is POSIX-only (flock) anyway.
FORK = multiprocessing.get_context('fork')


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def permissive_umask():
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


@pytest.fixture
def cache_dir(tmp_path):
    return str(tmp_path / 'cache' / CACHE_SUBDIR)


# -- location ---------------------------------------------------------------------------------------


def test_default_dir_follows_xdg_cache_home(monkeypatch, tmp_path):
    monkeypatch.setenv('XDG_CACHE_HOME', str(tmp_path))
    assert default_cache_dir() == os.path.join(str(tmp_path), CACHE_SUBDIR)
    assert TokenCache().directory == os.path.join(str(tmp_path), CACHE_SUBDIR)


def test_default_dir_falls_back_to_home_cache(monkeypatch, tmp_path):
    monkeypatch.delenv('XDG_CACHE_HOME', raising=False)
    monkeypatch.setenv('HOME', str(tmp_path))
    assert default_cache_dir() == os.path.join(str(tmp_path), '.cache', CACHE_SUBDIR)


def test_empty_xdg_cache_home_falls_back_to_home_cache(monkeypatch, tmp_path):
    monkeypatch.setenv('XDG_CACHE_HOME', '')
    monkeypatch.setenv('HOME', str(tmp_path))
    assert default_cache_dir() == os.path.join(str(tmp_path), '.cache', CACHE_SUBDIR)


# -- permissions ----------------------------------------------------------------------------------


def test_directory_0700_and_file_0600_with_a_permissive_umask(cache_dir, permissive_umask):
    cache = TokenCache(cache_dir)
    cache.write(KEY, TOKEN, EXPIRE, 100.0)
    assert mode(cache_dir) == 0o700
    assert mode(os.path.join(cache_dir, KEY + '.json')) == 0o600


def test_lock_file_is_private(cache_dir):
    cache = TokenCache(cache_dir)
    old = os.umask(0o022)
    try:
        with cache.locked(KEY):
            pass
    finally:
        os.umask(old)
    assert mode(cache_dir) == 0o700
    assert mode(os.path.join(cache_dir, KEY + '.lock')) == 0o600


def test_existing_permissive_directory_is_tightened(cache_dir):
    os.makedirs(cache_dir)
    os.chmod(cache_dir, 0o777)
    TokenCache(cache_dir).write(KEY, TOKEN, EXPIRE, 100.0)
    assert mode(cache_dir) == 0o700


def test_rewrite_keeps_the_file_private(cache_dir, permissive_umask):
    cache = TokenCache(cache_dir)
    cache.write(KEY, TOKEN, EXPIRE, 100.0)
    os.chmod(os.path.join(cache_dir, KEY + '.json'), 0o644)
    cache.write(KEY, 'f' * 40, EXPIRE + 1, 200.0)
    assert mode(os.path.join(cache_dir, KEY + '.json')) == 0o600


# -- content and atomicity ------------------------------------------------------------------------


def test_write_then_read(cache_dir):
    cache = TokenCache(cache_dir)
    cache.write(KEY, TOKEN, EXPIRE, 123.5)
    entry = cache.read(KEY)
    assert (entry.token, entry.expire, entry.checked_at) == (TOKEN, EXPIRE, 123.5)


def test_entry_holds_token_and_times_only(cache_dir):
    cache = TokenCache(cache_dir)
    cache.write(KEY, TOKEN, EXPIRE, 123.5)
    with open(os.path.join(cache_dir, KEY + '.json')) as handle:
        assert sorted(json.load(handle)) == ['checked_at', 'expire', 'token']


def test_atomic_replace_leaves_no_temporary_files(cache_dir):
    cache = TokenCache(cache_dir)
    for number in range(20):
        cache.write(KEY, '%040d' % number, EXPIRE + number, float(number))
    with cache.locked(KEY):
        pass
    assert sorted(os.listdir(cache_dir)) == [KEY + '.json', KEY + '.lock']
    assert cache.read(KEY).token == '%040d' % 19


def test_failed_write_keeps_the_old_entry_and_no_temporary_file(cache_dir, monkeypatch):
    cache = TokenCache(cache_dir)
    cache.write(KEY, TOKEN, EXPIRE, 1.0)

    def broken_replace(src, dst):
        raise OSError(28, 'No space left on device')

    monkeypatch.setattr(os, 'replace', broken_replace)
    with pytest.raises(OSError):
        cache.write(KEY, 'f' * 40, EXPIRE + 1, 2.0)
    monkeypatch.undo()
    assert os.listdir(cache_dir) == [KEY + '.json']
    assert cache.read(KEY).token == TOKEN


@pytest.mark.parametrize('content', [
    '',
    '{',
    'not json at all',
    '[]',
    '"a string"',
    'null',
    '{}',
    '{"token": "abc"}',
    '{"expire": 1307975676}',
    '{"token": "abc", "expire": "soon"}',
    '{"token": "abc", "expire": null}',
    '{"token": "abc", "expire": 1, "checked_at": "yesterday"}',
    '\x00\x01\x02',
])
def test_corrupt_file_is_a_miss(cache_dir, content):
    os.makedirs(cache_dir)
    with open(os.path.join(cache_dir, KEY + '.json'), 'w') as handle:
        handle.write(content)
    assert TokenCache(cache_dir).read(KEY) is None


def test_corrupt_file_is_replaced_by_the_next_write(cache_dir):
    os.makedirs(cache_dir)
    with open(os.path.join(cache_dir, KEY + '.json'), 'w') as handle:
        handle.write('{garbage')
    cache = TokenCache(cache_dir)
    cache.write(KEY, TOKEN, EXPIRE, 1.0)
    assert cache.read(KEY).token == TOKEN


def test_missing_entry_and_missing_directory_are_misses(cache_dir):
    cache = TokenCache(cache_dir)
    assert cache.read(KEY) is None
    assert not os.path.exists(cache_dir)  # reading creates nothing


def test_unreadable_file_is_a_miss(cache_dir):
    os.makedirs(cache_dir)
    os.mkdir(os.path.join(cache_dir, KEY + '.json'))  # a directory where the file should be
    assert TokenCache(cache_dir).read(KEY) is None


def test_entry_without_checked_at_reads_as_never_checked(cache_dir):
    os.makedirs(cache_dir)
    with open(os.path.join(cache_dir, KEY + '.json'), 'w') as handle:
        json.dump({'token': TOKEN, 'expire': EXPIRE}, handle)
    assert TokenCache(cache_dir).read(KEY).checked_at == 0


def test_evict(cache_dir):
    cache = TokenCache(cache_dir)
    other = TokenCache.key('https://api.contactnow.8x8.com', 'someone-else')
    cache.write(KEY, TOKEN, EXPIRE, 1.0)
    cache.write(other, 'f' * 40, EXPIRE, 1.0)
    cache.evict(KEY)
    assert cache.read(KEY) is None
    assert cache.read(other).token == 'f' * 40


def test_evict_of_a_missing_entry_is_quiet(cache_dir):
    cache = TokenCache(cache_dir)
    cache.evict(KEY)
    cache.write(KEY, TOKEN, EXPIRE, 1.0)
    cache.evict(KEY)
    cache.evict(KEY)
    assert cache.read(KEY) is None


# -- keys -----------------------------------------------------------------------------------------


def test_key_differs_per_api_url_username_and_address():
    keys = set([
        TokenCache.key('https://api.contactnow.8x8.com', 'apiuser'),
        TokenCache.key('https://api-106.dxi.eu', 'apiuser'),
        TokenCache.key('https://api.contactnow.8x8.com/api', 'apiuser'),
        TokenCache.key('https://api.contactnow.8x8.com', 'other'),
        TokenCache.key('https://api.contactnow.8x8.com', 'apiuser', '192.0.2.15'),
        TokenCache.key('https://api.contactnow.8x8.com', 'apiuser', '192.0.2.16'),
        TokenCache.key('https://api.contactnow.8x8.com', 'other', '192.0.2.15'),
    ])
    assert len(keys) == 7


def test_key_is_stable_and_ignores_a_trailing_slash():
    assert TokenCache.key('https://api.contactnow.8x8.com/', 'apiuser') == TokenCache.key('https://api.contactnow.8x8.com', 'apiuser')
    assert TokenCache.key('https://api.contactnow.8x8.com', 'apiuser', None) == \
        TokenCache.key('https://api.contactnow.8x8.com', 'apiuser', '')


def test_key_does_not_confuse_field_boundaries():
    assert TokenCache.key('https://a', 'b', 'c') != TokenCache.key('https://a', 'b\", \"c')


def test_key_leaks_no_name_into_the_file_system():
    key = TokenCache.key('https://api.contactnow.8x8.com', 'apiuser', '192.0.2.15')
    for part in ('apiuser', 'contactnow', '192.0.2.15'):
        assert part not in key
    assert all(char in '0123456789abcdef' for char in key)


def test_entries_for_different_keys_do_not_collide(cache_dir):
    cache = TokenCache(cache_dir)
    first = TokenCache.key('https://api.contactnow.8x8.com', 'apiuser')
    second = TokenCache.key('https://api.contactnow.8x8.com', 'apiuser', '192.0.2.15')
    cache.write(first, 'a' * 40, EXPIRE, 1.0)
    cache.write(second, 'b' * 40, EXPIRE, 1.0)
    assert (cache.read(first).token, cache.read(second).token) == ('a' * 40, 'b' * 40)


# -- several processes ------------------------------------------------------------------------------


def _increment_worker(directory, key, rounds, start_event):
    """Read-decide-write under the lock: a lost update would show as a short count."""
    cache = TokenCache(directory)
    start_event.wait(JOIN_TIMEOUT)
    for _round in range(rounds):
        with cache.locked(key):
            entry = cache.read(key)
            count = entry.expire if entry else 0
            time.sleep(0.002)  # widen the window an unlocked read-decide-write would lose
            cache.write(key, 'counter', count + 1, time.time())


def _fetch_once_worker(directory, key, fetch_log, start_event):
    """What the lookup does in each forked worker: only the first one should 'fetch'."""
    cache = TokenCache(directory)
    start_event.wait(JOIN_TIMEOUT)
    with cache.locked(key):
        if cache.read(key) is None:
            with open(fetch_log, 'a') as handle:
                handle.write('%d\n' % os.getpid())
            time.sleep(0.05)  # a slow get
            cache.write(key, 'token-of-%d' % os.getpid(), EXPIRE, time.time())


def _hammer_worker(directory, key, number, rounds):
    cache = TokenCache(directory)
    for iteration in range(rounds):
        cache.write(key, 'writer-%d-%d' % (number, iteration), EXPIRE + iteration, time.time())


def _lock_then_mark_worker(directory, key, marker, start_event):
    start_event.wait(JOIN_TIMEOUT)
    with TokenCache(directory).locked(key):
        with open(marker, 'w') as handle:
            handle.write('locked')


def _start_and_join(processes, start_event=None):
    """Start the workers (released together by ``start_event``), wait a bounded time, check exits."""
    for process in processes:
        process.start()
    if start_event is not None:
        start_event.set()
    _join(processes)


def _join(processes):
    deadline = time.time() + JOIN_TIMEOUT
    for process in processes:
        process.join(max(0.1, deadline - time.time()))
    stuck = [process for process in processes if process.is_alive()]
    for process in stuck:
        process.terminate()
        process.join(5)
    assert not stuck, '%d worker processes did not finish within %d seconds' % (len(stuck), JOIN_TIMEOUT)
    assert [process.exitcode for process in processes] == [0] * len(processes)


def test_lock_serialises_read_decide_write_across_processes(cache_dir):
    workers, rounds = 6, 15
    start = FORK.Event()
    _start_and_join([FORK.Process(target=_increment_worker, args=(cache_dir, KEY, rounds, start)) for _worker in range(workers)],
                    start)
    entry = TokenCache(cache_dir).read(KEY)
    assert entry is not None
    assert entry.expire == workers * rounds
    assert sorted(os.listdir(cache_dir)) == [KEY + '.json', KEY + '.lock']


def test_only_one_of_many_processes_fetches(cache_dir, tmp_path):
    fetch_log = str(tmp_path / 'fetches')
    start = FORK.Event()
    _start_and_join([FORK.Process(target=_fetch_once_worker, args=(cache_dir, KEY, fetch_log, start)) for _worker in range(8)],
                    start)
    with open(fetch_log) as handle:
        fetchers = handle.read().split()
    assert len(fetchers) == 1
    assert TokenCache(cache_dir).read(KEY).token == 'token-of-%s' % fetchers[0]


def test_concurrent_writers_always_leave_a_valid_file(cache_dir):
    cache = TokenCache(cache_dir)
    cache.write(KEY, 'initial', EXPIRE, 0.0)
    processes = [FORK.Process(target=_hammer_worker, args=(cache_dir, KEY, number, 60)) for number in range(5)]
    for process in processes:
        process.start()
    deadline = time.time() + JOIN_TIMEOUT
    reads = 0
    while any(process.is_alive() for process in processes) and time.time() < deadline:
        entry = cache.read(KEY)
        assert entry is not None, 'a reader saw a missing or half-written entry'
        assert entry.token == 'initial' or entry.token.startswith('writer-')
        reads += 1
    _join(processes)
    assert reads > 0
    assert cache.read(KEY).token.startswith('writer-')
    assert sorted(os.listdir(cache_dir)) == [KEY + '.json']


def test_lock_blocks_another_process_until_released(cache_dir, tmp_path):
    marker = str(tmp_path / 'marker')
    start = FORK.Event()
    # Fork before taking the lock: a child forked while the lock is held inherits the locked descriptor.
    process = FORK.Process(target=_lock_then_mark_worker, args=(cache_dir, KEY, marker, start))
    process.start()
    with TokenCache(cache_dir).locked(KEY):
        start.set()
        time.sleep(0.5)
        assert not os.path.exists(marker), 'another process entered the lock while it was held'
    _join([process])
    assert os.path.exists(marker)


def test_locks_of_different_keys_do_not_block_each_other(cache_dir, tmp_path):
    marker = str(tmp_path / 'marker')
    other = TokenCache.key('https://api.contactnow.8x8.com', 'other')
    start = FORK.Event()
    process = FORK.Process(target=_lock_then_mark_worker, args=(cache_dir, other, marker, start))
    process.start()
    with TokenCache(cache_dir).locked(KEY):
        start.set()
        _join([process])
        assert os.path.exists(marker)


def test_unusable_directory_fails_at_lock_time(tmp_path):
    blocker = tmp_path / 'not-a-dir'
    blocker.write_text(u'x')
    with pytest.raises(OSError):
        TokenCache(str(blocker / CACHE_SUBDIR)).locked(KEY)


# -- the trusted hit: what the lookup answers without the token manager --------------------------------


@pytest.mark.parametrize('now, min_ttl, trust_for, trusted', [
    (1000 + 59, 300, 60, True),       # confirmed 59 s ago, within the interval
    (1000 + 60, 300, 60, False),      # the interval has passed: validate
    (1000 + 59, 300, None, False),    # no interval: always validate
    (1000, 300, 0, False),            # revalidate_interval 0: never trusted
    (EXPIRE - 300, 300, 10 ** 10, True),   # exactly min_ttl left
    (EXPIRE - 299, 300, 10 ** 10, False),  # less than min_ttl left: renew
])
def test_trust_rule(now, min_ttl, trust_for, trusted):
    entry = CacheEntry(TOKEN, EXPIRE, checked_at=1000)
    assert entry.trusted(now, min_ttl, trust_for) is trusted


def test_trusted_entry_reads_under_the_lock_for_the_same_password_only(cache_dir):
    cache = TokenCache(cache_dir)
    cache.write(KEY, TOKEN, EXPIRE, 1000, password='secret-1')
    assert cache.trusted_entry(KEY, 'secret-1', 300, 60, lambda: 1030).token == TOKEN
    assert cache.trusted_entry(KEY, 'secret-2', 300, 60, lambda: 1030) is None
    assert cache.trusted_entry(KEY, 'secret-1', 300, 60, lambda: 1061) is None
    assert os.path.exists(os.path.join(cache_dir, KEY + '.lock'))


def test_trusted_entry_is_judged_by_the_clock_read_under_the_lock(cache_dir):
    """Time spent waiting for another worker's renewal counts against min_ttl and the interval."""
    cache = TokenCache(cache_dir)
    cache.write(KEY, TOKEN, EXPIRE, 1000, password='secret-1')
    seen = []

    def clock():
        fd = os.open(os.path.join(cache_dir, KEY + '.lock'), os.O_RDWR)
        try:
            with pytest.raises(BlockingIOError):
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            os.close(fd)
        seen.append('locked')
        return 1030

    assert cache.trusted_entry(KEY, 'secret-1', 300, 60, clock).token == TOKEN
    assert seen == ['locked']


def test_trusted_entry_of_an_unusable_directory_is_a_miss_for_the_caller_to_report(tmp_path):
    real = tmp_path / 'real'
    real.mkdir(mode=0o700)
    link = tmp_path / 'link'
    link.symlink_to(real)
    assert TokenCache(str(link)).trusted_entry(KEY, 'secret-1', 300, 60, lambda: 1030) is None


# -- only the owner's directory, no symbolic links, only for the same credentials ----------------------


def test_directory_owned_by_another_user_is_refused(cache_dir, monkeypatch):
    TokenCache(cache_dir).write(KEY, TOKEN, EXPIRE, 0)
    real_uid = os.geteuid()
    monkeypatch.setattr(os, 'geteuid', lambda: real_uid + 1)
    with pytest.raises(UnsafeCacheDirectory) as info:
        TokenCache(cache_dir).locked(KEY)
    assert 'owned by another user' in info.value.strerror
    with pytest.raises(UnsafeCacheDirectory):
        TokenCache(cache_dir).write(KEY, TOKEN, EXPIRE, 0)


def test_directory_that_is_a_symbolic_link_is_refused(tmp_path):
    real = tmp_path / 'real'
    real.mkdir(mode=0o700)
    link = tmp_path / 'link'
    link.symlink_to(real)
    with pytest.raises(UnsafeCacheDirectory, match='symbolic link'):
        TokenCache(str(link)).locked(KEY)


def test_entry_that_is_a_symbolic_link_is_not_followed(cache_dir, tmp_path):
    cache = TokenCache(cache_dir)
    cache.write(KEY, TOKEN, EXPIRE, 0)
    planted = tmp_path / 'planted.json'
    planted.write_text(json.dumps({'token': 'planted', 'expire': EXPIRE, 'checked_at': 0}))
    entry = os.path.join(cache_dir, KEY + '.json')
    os.remove(entry)
    os.symlink(str(planted), entry)
    assert cache.read(KEY) is None
    cache.write(KEY, TOKEN, EXPIRE, 0)  # replaces the link itself, never writes through it
    assert not os.path.islink(entry)
    assert json.loads(planted.read_text())['token'] == 'planted'


def test_lock_that_is_a_symbolic_link_is_refused(cache_dir, tmp_path):
    cache = TokenCache(cache_dir)
    cache.write(KEY, TOKEN, EXPIRE, 0)
    target = tmp_path / 'elsewhere'
    os.symlink(str(target), os.path.join(cache_dir, KEY + '.lock'))
    with pytest.raises(OSError):
        cache.locked(KEY)
    assert not target.exists()


def test_entry_is_handed_out_only_for_the_password_it_was_written_with(cache_dir):
    cache = TokenCache(cache_dir)
    cache.write(KEY, TOKEN, EXPIRE, 0, password='right')
    assert cache.read(KEY, 'right').token == TOKEN
    assert cache.read(KEY, 'wrong') is None
    assert cache.read(KEY, 'RIGHT') is None
    assert cache.read(KEY) is None


def test_entry_without_a_credential_is_a_miss_for_a_password(cache_dir):
    cache = TokenCache(cache_dir)
    cache.write(KEY, TOKEN, EXPIRE, 0)
    assert cache.read(KEY, 'any') is None


def _stored_credential(cache_dir, key=KEY):
    with open(os.path.join(cache_dir, key + '.json')) as handle:
        return json.load(handle)['credential']


def test_entry_keeps_a_keyed_hash_of_the_password_never_the_password(cache_dir, tmp_path):
    password = 'pw-\u00e9-secret'
    TokenCache(cache_dir).write(KEY, TOKEN, EXPIRE, 0, password=password)
    other_dir = str(tmp_path / 'other' / CACHE_SUBDIR)
    TokenCache(other_dir).write(KEY, TOKEN, EXPIRE, 0, password=password)
    other_key = TokenCache.key('https://api.contactnow.8x8.com', 'someone-else')
    TokenCache(cache_dir).write(other_key, TOKEN, EXPIRE, 0, password=password)
    tags = [_stored_credential(cache_dir)['hmac'], _stored_credential(other_dir)['hmac'],
            _stored_credential(cache_dir, other_key)['hmac']]
    assert len(set(tags)) == 3  # another directory's key, another entry: another tag
    for directory in (cache_dir, other_dir):
        for name in os.listdir(directory):
            with open(os.path.join(directory, name), 'rb') as handle:
                assert password.encode('utf-8') not in handle.read()


def test_key_file_is_private_and_shared_by_the_directory_s_entries(cache_dir, permissive_umask):
    TokenCache(cache_dir).write(KEY, TOKEN, EXPIRE, 0, password='pw')
    key_path = os.path.join(cache_dir, 'credential.key')
    assert mode(key_path) == 0o600
    assert os.path.getsize(key_path) == 32
    assert TokenCache(cache_dir).read(KEY, 'pw').token == TOKEN  # a new instance (process) reads the same key


def test_damaged_or_missing_key_turns_entries_into_misses(cache_dir):
    cache = TokenCache(cache_dir)
    cache.write(KEY, TOKEN, EXPIRE, 0, password='pw')
    key_path = os.path.join(cache_dir, 'credential.key')
    with open(key_path, 'wb') as handle:
        handle.write(b'short')
    assert TokenCache(cache_dir).read(KEY, 'pw') is None
    assert os.path.getsize(key_path) == 32  # replaced
    os.remove(key_path)
    assert TokenCache(cache_dir).read(KEY, 'pw') is None
    fresh = TokenCache(cache_dir)
    fresh.write(KEY, TOKEN, EXPIRE, 0, password='pw')
    assert TokenCache(cache_dir).read(KEY, 'pw').token == TOKEN


def test_key_file_that_is_a_symbolic_link_is_not_followed(cache_dir, tmp_path):
    TokenCache(cache_dir).write(KEY, TOKEN, EXPIRE, 0)
    planted = tmp_path / 'planted.key'
    planted.write_bytes(b'k' * 32)
    os.symlink(str(planted), os.path.join(cache_dir, 'credential.key'))
    with pytest.raises(OSError):
        TokenCache(cache_dir).write(KEY, TOKEN, EXPIRE, 0, password='pw')
    assert TokenCache(cache_dir).read(KEY, 'pw') is None


def _create_key(directory, results):
    results.put(TokenCache(directory)._secret_key())


def test_processes_creating_the_key_at_once_agree_on_it(cache_dir):
    os.makedirs(cache_dir, 0o700)
    results = FORK.Queue()
    workers = [FORK.Process(target=_create_key, args=(cache_dir, results)) for _worker in range(6)]
    for worker in workers:
        worker.start()
    keys = [results.get(timeout=JOIN_TIMEOUT) for _worker in workers]
    for worker in workers:
        worker.join(JOIN_TIMEOUT)
        assert worker.exitcode == 0
    assert len(set(keys)) == 1
    assert sorted(os.listdir(cache_dir)) == ['credential.key']  # no temporary file left behind


@pytest.mark.parametrize('credential', [{'salt': 'ab' * 16, 'hash': 'cd' * 32}, 'text', {'hmac': 2}, {'hmac': '\u00e9'}, {}])
def test_malformed_credential_is_a_miss(cache_dir, credential):
    cache = TokenCache(cache_dir)
    cache.write(KEY, TOKEN, EXPIRE, 0, password='pw')
    path = os.path.join(cache_dir, KEY + '.json')
    with open(path) as handle:
        data = json.load(handle)
    data['credential'] = credential
    with open(path, 'w') as handle:
        json.dump(data, handle)
    assert cache.read(KEY, 'pw') is None

"""The build lease in the store (issue 31): one holder at a time, taken over only after it
expires, a lost lease cannot publish, and published bytes are checked against their digest.
Run on SQLite and PostgreSQL; the concurrent claim uses threads with their own connections."""

from __future__ import annotations

import threading
import time

from sqlalchemy import Engine, update

from records import shared_builds
from records.tables.builds import SharedBuild

KEY = "cohort-test"


def test_one_holder_at_a_time_and_publish_ends_the_lease(store: Engine) -> None:
    assert shared_builds.claim(store, KEY, "a", 60)
    assert not shared_builds.claim(store, KEY, "b", 60)
    assert shared_builds.published(store, KEY) is None
    assert shared_builds.publish(store, KEY, "a", "f1", b"bytes one", "tag")
    found = shared_builds.published(store, KEY)
    assert (found.fingerprint, found.body, found.builds, found.published_by) == (
        "f1", b"bytes one", 1, "a")
    assert shared_builds.state(store, KEY).holder is None
    assert shared_builds.claim(store, KEY, "b", 60)  # free again once published
    assert shared_builds.publish(store, KEY, "b", "f2", b"bytes two", "tag")
    assert shared_builds.state(store, KEY).builds == 2


def test_an_expired_lease_is_taken_over_and_the_loser_cannot_publish(store: Engine) -> None:
    assert shared_builds.claim(store, KEY, "crashed", 60)
    with store.begin() as conn:  # its lease ran out (it stopped renewing)
        conn.execute(update(SharedBuild).values(
            lease_expires_at=shared_builds.state(store, KEY).expires_at.replace(year=2000)))
    assert shared_builds.claim(store, KEY, "next", 60)
    assert not shared_builds.renew(store, KEY, "crashed", 60)
    assert not shared_builds.publish(store, KEY, "crashed", "old", b"stale", "tag")
    assert shared_builds.published(store, KEY) is None
    assert shared_builds.renew(store, KEY, "next", 60)
    shared_builds.release(store, KEY, "next")
    assert shared_builds.state(store, KEY).holder is None


def test_concurrent_claims_give_the_lease_to_one(store: Engine) -> None:
    won: list[str] = []
    start = threading.Barrier(4)

    def contender(name: str) -> None:
        start.wait()
        if shared_builds.claim(store, KEY, name, 60):
            won.append(name)

    threads = [threading.Thread(target=contender, args=(f"replica-{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(won) == 1, won


def test_bytes_that_do_not_match_their_digest_are_not_handed_out(store: Engine) -> None:
    assert shared_builds.claim(store, KEY, "a", 60)
    assert shared_builds.publish(store, KEY, "a", "f1", b"the table", "tag")
    with store.begin() as conn:
        conn.execute(update(SharedBuild).values(body=b"the tablE"))
    assert shared_builds.published(store, KEY) is None


def test_the_lease_expiry_lies_ahead_of_now(store: Engine) -> None:
    before = time.time()
    assert shared_builds.claim(store, KEY, "a", 60)
    assert shared_builds.state(store, KEY).expires_at.timestamp() > before + 50

"""What a process keeps per access version (storage/versions.py): nothing of another version,
lower ones included, nor of another database."""

from casegate.storage.versions import Kept, forget_all


def loads(kept: Kept[str, str], version: int | None, state: str) -> bool:
    """Whether get() read the database; its answer must be `state`, what the database
    holds."""
    read = []

    def load() -> str:
        read.append(state)
        return state

    assert kept.get(version, "role", load) == state
    return bool(read)


def test_rows_are_kept_for_their_version_only() -> None:
    kept: Kept[str, str] = Kept()
    assert loads(kept, 10, "A")
    assert not loads(kept, 10, "A")
    assert loads(kept, 11, "B")
    assert loads(kept, None, "B") and loads(kept, None, "B")  # no counter: nothing kept


def test_a_counter_that_went_back_and_climbs_to_the_same_number_is_read_again() -> None:
    # a restored backup or a promoted replica: version 10 again, but another state's
    kept: Kept[str, str] = Kept()
    assert loads(kept, 10, "A")
    assert loads(kept, 9, "old")
    assert loads(kept, 10, "C")
    assert kept.get(10, "role", lambda: "not read") == "C"


def test_a_new_app_forgets_what_another_database_left() -> None:
    kept: Kept[str, str] = Kept()
    assert loads(kept, 3, "first database")
    forget_all()
    assert kept.get(3, "role", lambda: "second database") == "second database"

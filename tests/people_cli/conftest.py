"""The person and client registrations of tests/people, for the commands' tests."""

from people.conftest import make_app, person

__all__ = ["make_app", "person"]

"""The suite leaves the checkout as it found it (runs last: see conftest.py)."""

import pytest


@pytest.mark.last
def test_the_suite_leaves_git_status_unchanged(checkout_states):
    before, now = checkout_states
    if before is None:
        pytest.skip("not a git checkout")
    assert now == before

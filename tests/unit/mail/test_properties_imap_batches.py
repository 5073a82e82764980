"""Properties of how the mailbox adapter groups mails for FETCH by their announced sizes (pure)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ews.mail.imap import _batches

_SIZES = st.dictionaries(st.integers(min_value=1, max_value=10**6),
                         st.integers(min_value=0, max_value=5000), max_size=60)


@settings(max_examples=200, deadline=2000)
@given(_SIZES, st.integers(min_value=1, max_value=4000))
def test_batches_keep_uid_order_and_stay_within_the_limit(sizes: dict[int, int],
                                                          limit: int) -> None:
    batches = list(_batches(sizes, limit))

    assert [uid for batch in batches for uid in batch] == sorted(sizes)
    for batch in batches:
        assert batch
        if any(sizes[uid] > limit for uid in batch):
            assert len(batch) == 1  # fetched as its header only, alone
        else:
            assert sum(sizes[uid] for uid in batch) <= limit

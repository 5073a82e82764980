"""Properties of the bounce reader: any bytes, every real bounce style with hostile recipient
and server text, cut or garbled, give a Bounce or None in bounded time; ``read_bounce``
documents that it never raises, and every recipient it reports has a German reason."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ews.mail.bounces import Bounce, read_bounce, reason_de
from tests.support.bouncegen import BOUNCE_STYLES, NOT_BOUNCES, circular_mail

BOUNDED = settings(max_examples=120, deadline=2000,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

_FLOOD = st.builds(lambda piece, count: piece * count,
                   st.sampled_from([" ", "\n", "\n ", "'", "(reason: ", "550 ", "5.1.1 ", "<",
                                    "a@b.c ", "remote server returned '", "warning: ", "\\x{"]),
                   st.integers(min_value=1, max_value=3000))
_TEXT = st.one_of(st.text(max_size=80), _FLOOD)
_ADDRESS = st.one_of(st.emails(), _TEXT)
_STATUS = st.one_of(st.sampled_from(["5.1.1", "4.2.2", "5.7.1", "2.0.0", "9.9.9", ""]),
                    st.text(max_size=12))


def _checked(bounce: Bounce | None) -> None:
    if bounce is None:
        return
    for recipient in bounce.recipients:
        assert reason_de(recipient)
        assert len(recipient.diagnostic) <= 500
    assert all(message_id for message_id in bounce.message_ids)


@BOUNDED
@given(st.binary(max_size=5000))
def test_any_bytes_give_a_bounce_or_none(raw: bytes) -> None:
    _checked(read_bounce(raw))


@BOUNDED
@given(st.sampled_from(sorted(BOUNCE_STYLES)), _ADDRESS, _STATUS, _TEXT)
def test_every_style_with_any_recipient_and_server_text(style: str, address: str, status: str,
                                                        diagnostic: str) -> None:
    try:
        raw = BOUNCE_STYLES[style](circular_mail(), address, status, diagnostic)
    except (ValueError, UnicodeError):  # the generator cannot write this address
        return
    _checked(read_bounce(raw))


@BOUNDED
@given(st.sampled_from(sorted(BOUNCE_STYLES) + sorted(NOT_BOUNCES)), st.data())
def test_cut_or_garbled_bounces_give_a_bounce_or_none(name: str, data: st.DataObject) -> None:
    if name in BOUNCE_STYLES:
        raw = BOUNCE_STYLES[name](circular_mail(), "hans@example.org", "5.1.1",
                                  "550 5.1.1 <hans@example.org>: User unknown")
    else:
        raw = NOT_BOUNCES[name](circular_mail())
    cut = data.draw(st.integers(min_value=0, max_value=len(raw)))
    garbage = data.draw(st.binary(max_size=200))
    at = data.draw(st.integers(min_value=0, max_value=cut))
    _checked(read_bounce(raw[:at] + garbage + raw[at:cut]))

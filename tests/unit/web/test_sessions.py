"""Signed session cookies and CSRF tokens: only our own, unchanged, unexpired, not signed out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ews.web.sessions import SessionKeys

NOW = datetime(2027, 2, 1, 9, 0, tzinfo=UTC)
HOURS = timedelta(hours=8)


def test_a_cookie_is_valid_until_it_expires() -> None:
    keys = SessionKeys("schluessel", HOURS)
    cookie, session = keys.issue("leo", NOW)
    assert keys.check(cookie, NOW + HOURS - timedelta(seconds=1)) == session
    assert keys.check(cookie, NOW + HOURS) is None
    assert keys.check(cookie, NOW - timedelta(minutes=1)) is None


def test_a_changed_or_foreign_cookie_is_refused() -> None:
    keys = SessionKeys("schluessel", HOURS)
    cookie, _ = keys.issue("lena", NOW)
    payload, mac = cookie.rsplit(".", 1)
    forged_payload, _ = SessionKeys("schluessel", HOURS).issue("leo", NOW)
    assert keys.check(forged_payload.rsplit(".", 1)[0] + "." + mac, NOW) is None
    assert keys.check(payload + "." + mac[:-1] + ("A" if mac[-1] != "A" else "B"), NOW) is None
    assert SessionKeys("anderer", HOURS).check(cookie, NOW) is None
    for junk in ("", "kein-punkt", "a.b", "..."):
        assert keys.check(junk, NOW) is None


def test_a_signed_out_session_stays_out() -> None:
    keys = SessionKeys("schluessel", HOURS)
    cookie, session = keys.issue("leo", NOW)
    keys.revoke(session, NOW)
    assert keys.check(cookie, NOW + timedelta(minutes=1)) is None
    other, _ = keys.issue("leo", NOW)
    assert keys.check(other, NOW) is not None


def test_the_csrf_token_belongs_to_one_session() -> None:
    keys = SessionKeys("schluessel", HOURS)
    _, first = keys.issue("leo", NOW)
    _, second = keys.issue("leo", NOW)
    token = keys.csrf(first.sid)
    assert keys.csrf_ok(first.sid, token)
    assert not keys.csrf_ok(second.sid, token)
    assert not keys.csrf_ok(first.sid, "")
    pre = keys.pre_cookie()
    assert keys.pre_sid(pre) is not None
    assert keys.pre_sid(pre[:-1] + "x") is None or pre.endswith("x")

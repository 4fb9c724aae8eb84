"""The local audit trail: rows written, read newest first, filtered, scrubbed, kept on rebuild."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from storage.audit import AuditEntry, attempt_entries, count_audit, list_audit, record
from storage.db import make_engine


@pytest.fixture
def engine(tmp_path):
    eng = make_engine(tmp_path / "cache.sqlite")
    yield eng
    eng.dispose()


def entry(**kw) -> AuditEntry:
    base = dict(action="stop", result="succeeded", actor="sam@ism.example",
                actor_role="platform_operator", target_type="workspace", target_id="ws-1",
                target_name="payments-api-dev", customer_id="cus-1", profile="prod")
    base.update(kw)
    return AuditEntry(**base)


def test_rows_come_back_newest_first_with_every_field(engine) -> None:
    now = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
    record(engine, entry(result="confirmed", idempotency_key="k1"), now=now)
    written = record(engine, entry(request_id="req-9", idempotency_key="k1"), now=now)
    assert written.seq is not None and written.time == "2026-11-24T09:30:00.000000Z"
    rows = list_audit(engine, limit=10)
    assert [r.result for r in rows] == ["succeeded", "confirmed"]
    top = rows[0]
    assert (top.actor, top.actor_role, top.action, top.target_id, top.target_name,
            top.customer_id, top.request_id, top.idempotency_key, top.profile) == (
        "sam@ism.example", "platform_operator", "stop", "ws-1", "payments-api-dev", "cus-1",
        "req-9", "k1", "prod")
    assert [r.result for r in attempt_entries(engine, "k1")] == ["confirmed", "succeeded"]


def test_filter_limit_offset_and_count(engine) -> None:
    for i in range(5):
        record(engine, entry(action="stop", target_id=f"ws-{i}"))
    record(engine, entry(action="reissue_invite", target_type="invite", target_id="inv-1"))
    assert count_audit(engine) == 6
    assert count_audit(engine, action="stop") == 5
    assert [r.target_id for r in list_audit(engine, limit=2, offset=1, action="stop")] == [
        "ws-3", "ws-2"]
    assert [r.action for r in list_audit(engine, action="reissue_invite")] == ["reissue_invite"]
    with pytest.raises(ValueError, match="must not be negative"):
        list_audit(engine, limit=-1)


def test_unknown_result_is_rejected(engine) -> None:
    with pytest.raises(ValueError, match="unknown audit result 'maybe'"):
        record(engine, entry(result="maybe"))


def test_secrets_and_escapes_are_scrubbed_before_writing(engine) -> None:
    record(engine, entry(
        action="reissue_invite", result="failed",
        reason="409: use https://console.example/invite/tok_ABC123 instead \x1b]0;pwn\x07 "
               "token=tok_ABC123",
        target_name="nina\x1b[31m@nw.example"))
    row = list_audit(engine)[0]
    assert "tok_ABC123" not in row.reason and "\x1b" not in row.reason
    assert "[invite link removed]" in row.reason
    assert row.target_name == "nina@nw.example"


def test_audit_trail_survives_a_cache_rebuild(tmp_path) -> None:
    from storage import schema
    from storage.db import set_meta

    path = tmp_path / "cache.sqlite"
    eng = make_engine(path)
    record(eng, entry())
    set_meta(eng, "schema_version", str(schema.SCHEMA_VERSION + 99))
    eng.dispose()
    eng = make_engine(path)  # version differs: every table but local_audit is rebuilt
    assert [r.target_id for r in list_audit(eng)] == ["ws-1"]
    eng.dispose()

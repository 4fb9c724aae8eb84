"""AnalyticsService on the demo cache: the five empty-analytics reasons, roles, escalation."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest

from ism_tui.analytics.periods import Period, preset
from ism_tui.analytics.service import (
    MEMBER_DENIED,
    AnalyticsService,
    Selection,
    UnknownCustomer,
)
from storage.load import set_me

FROZEN_NOW = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)  # conftest's frozen demo "now"

REASONS = ("scope", "period", "reconciliation", "not_running", "provider_delay")


def service(engine) -> AnalyticsService:
    return AnalyticsService(engine, clock=lambda: FROZEN_NOW, top_n=5)


def seen_selection(world, case: str) -> Selection:
    """The selection the story's customer admin looked at (its analytics.view audit event)."""
    customer = world.cases[case][0]
    for event in world.audit.values():
        if (event["action"], event["result"], event["customer_id"]) == (
            "analytics.view", "empty", customer
        ):
            d = json.loads(event["detail"])
            period = Period(date.fromisoformat(d["from"]), date.fromisoformat(d["to"]))
            return Selection(d["customer_id"], period)
    raise AssertionError(f"no empty analytics view for {case}")


@pytest.mark.parametrize("reason", REASONS)
def test_each_empty_reason_is_diagnosed_from_the_demo(demo_engine, demo_world_session,
                                                      reason: str) -> None:
    selection = seen_selection(demo_world_session, f"analytics_empty:{reason}")
    view = service(demo_engine).view(selection)
    assert view.status == "empty" and view.totals.rows == 0
    assert [f.reason for f in view.diagnosis] == list(REASONS)  # every check is shown
    holding = [f for f in view.diagnosis if f.holds]
    assert [f.reason for f in holding] == [reason]
    assert holding[0].primary and holding[0].evidence
    # fix-it-yourself reasons carry their fix and escalate nothing; only a correct period
    # with usage still missing goes to support
    if reason in ("scope", "period", "not_running"):
        assert view.escalation is None and view.fix == holding[0].fix
        return
    assert view.fix is None
    # the playbook's escalation: selected period and visible reconciliation status
    esc = view.escalation
    assert esc is not None
    assert esc["selected_period"]["from"] == selection.period.start.isoformat()
    assert esc["selected_period"]["to"] == selection.period.end.isoformat()
    assert esc["reconciliation_status"] == view.reconciliation_summary
    assert sum(esc["reconciliation_status"].values()) == selection.period.days


def test_reason_evidence_points_at_the_cause(demo_engine, demo_world_session) -> None:
    svc = service(demo_engine)

    def evidence(case: str) -> str:
        view = svc.view(seen_selection(demo_world_session, case))
        return " | ".join(e for f in view.diagnosis if f.holds for e in f.evidence)

    assert "Bluefin Labs (EU) (cus-0003) has" in evidence("analytics_empty:scope")
    assert "ends before the first cached usage day" in evidence("analytics_empty:period")
    assert "failed for 2 day(s): 2026-11-16, 2026-11-17" in evidence(
        "analytics_empty:reconciliation")
    assert "none running now; last used 2026-11-01" in evidence("analytics_empty:not_running")
    assert "20 h behind now" in evidence("analytics_empty:provider_delay")


def test_usage_with_unreconciled_days_is_partial(demo_engine) -> None:
    view = service(demo_engine).view(Selection("cus-0007", preset("30d", FROZEN_NOW.date())))
    assert view.status == "partial" and view.totals.rows > 0
    assert [f.reason for f in view.diagnosis if f.holds] == ["reconciliation"]
    assert view.escalation and view.escalation["reconciliation_status"]["failed"] == 2


def test_a_healthy_customer_is_ok_without_diagnosis(demo_engine) -> None:
    view = service(demo_engine).view(Selection("cus-0005", preset("30d", FROZEN_NOW.date())))
    assert view.status == "ok" and view.diagnosis == [] and view.escalation is None
    assert view.scope_label == "Acme Robotics (cus-0005)"
    assert view.top_workspaces and all(w.customer_id == "cus-0005" for w in view.top_workspaces)
    assert view.reconciliation_summary == {"reconciled": 29, "pending": 1}
    assert view.provider_data_through is not None
    assert view.provider_data_through >= FROZEN_NOW.replace(hour=8)  # today's, ~1 h old


def test_member_is_denied_with_the_playbook_explanation(demo_engine, demo_world_session) -> None:
    set_me(demo_engine, demo_world_session.tokens["demo-member"])
    view = service(demo_engine).view(Selection(None, preset("30d", FROZEN_NOW.date())))
    assert view.status == "denied"
    assert view.denied == MEMBER_DENIED
    assert "Ask a customer admin for a usage review" in view.denied
    assert view.totals.rows == 0 and not view.top_workspaces and view.escalation is None
    assert service(demo_engine).prepare() == 0


def test_customer_admin_sees_only_their_customer(demo_engine, demo_world_session) -> None:
    set_me(demo_engine, demo_world_session.tokens["demo-admin"])
    svc = service(demo_engine)
    view = svc.view(Selection(None, preset("30d", FROZEN_NOW.date())))
    assert view.selection.scope_customer_id == "cus-0006"
    assert view.requested.scope_customer_id is None
    assert view.notes == ["customer admins see only their own customer: showing Northwind Health"]
    assert view.top_customers == []
    assert all(w.customer_id == "cus-0006" for w in view.top_workspaces)
    assert [c.id for c in svc.customers()] == ["cus-0006"]


def test_operator_sees_everyone_with_top_customers(demo_engine) -> None:
    view = service(demo_engine).view(Selection(None, preset("90d", FROZEN_NOW.date())))
    assert view.scope_label == "All customers"
    assert len({w.customer_id for w in view.top_workspaces}) > 1
    names = [c.name for c in view.top_customers]
    assert names and "Bluefin Labs" not in names  # no usage, so not ranked
    assert sum(c.amounts.rows for c in view.top_customers) <= view.totals.rows


def test_customer_lookup_by_id_name_and_suggestions(demo_engine) -> None:
    svc = service(demo_engine)
    assert svc.resolve_customer("cus-0007").name == "Pinecrest Media"
    assert svc.resolve_customer("pinecrest media").id == "cus-0007"
    assert svc.resolve_customer("Granite").id == "cus-0004"
    with pytest.raises(UnknownCustomer) as err:
        svc.resolve_customer("Bluefin")
    assert "matches 2 customers" in str(err.value) and "give the id" in str(err.value)
    with pytest.raises(UnknownCustomer) as err:
        svc.resolve_customer("Pinecrast Medai")
    assert "did you mean Pinecrest Media (cus-0007)?" in str(err.value)
    with pytest.raises(UnknownCustomer):
        svc.view(Selection("cus-9999", preset("7d", FROZEN_NOW.date())))


def test_prepare_caches_preset_rankings(demo_engine) -> None:
    svc = service(demo_engine)
    assert svc.prepare() == 6
    with demo_engine.connect() as conn:
        cached = conn.exec_driver_sql("SELECT COUNT(*) FROM usage_rank_cache").scalar()
    assert cached == 6
    view = svc.view(Selection(None, preset("90d", FROZEN_NOW.date())))
    assert view.top_workspaces and view.workspaces_with_usage > len(view.top_workspaces)


def test_all_customers_diagnosis_names_the_customers_behind_it(demo_engine) -> None:
    view = service(demo_engine).view(Selection(None, preset("30d", FROZEN_NOW.date())))
    assert view.status == "partial"
    evidence = {f.reason: f.evidence for f in view.diagnosis if f.holds}
    assert set(evidence) == {"reconciliation", "provider_delay"}
    assert "Pinecrest Media (cus-0007): failed 2 day(s), pending 2 day(s)" in \
        evidence["reconciliation"]
    assert "Saffron Retail (cus-0010): delayed 2 day(s)" in evidence["provider_delay"]


def test_lookalike_customers_survive_suffixes_but_not_one_shared_word() -> None:
    from ism_tui.analytics.diagnosis import lookalike_customers
    from storage.usage_models import CustomerRef

    target = CustomerRef("cus-1", "Bluefin Labs [bold]x[/]")
    everyone = [target,
                CustomerRef("cus-2", "Bluefin Labs (EU) " + "L" * 500),  # junk after the name
                CustomerRef("cus-3", "Bluefin Logistics"),  # one shared word only
                CustomerRef("cus-4", "Pinecrest Media")]
    assert [c.id for c in lookalike_customers(target, everyone)] == ["cus-2"]

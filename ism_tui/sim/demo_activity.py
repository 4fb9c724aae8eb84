"""What happened over time, derived from the demo's objects once they have ids: daily usage,
per-customer reconciliation periods, and the Console's audit trail.

Usage follows each workspace's life: a row for each day it ran between its create and its last
use (weekdays mostly), never after a stop. Story customers punch holes in it
(``DemoBuilder.usage_gaps``) and override reconciliation (``period_overrides``).
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

from ism_tui.sim.demo_builder import DemoBuilder, Obj, iso

AI_CREDIT_USD = 0.02  # price of one managed-AI credit


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def add_usage(b: DemoBuilder) -> None:
    rows: list[Obj] = []
    for ws in b.workspaces:
        last_used: datetime | None = ws["_last_used"]
        if last_used is None:
            continue
        created: datetime = ws["_created"]
        running = ws["status"] in ("running", "stopping")
        gaps = b.usage_gaps.get(ws["_customer"]["_key"], set())
        rate = ws["_target"]["_cost"]
        ai = ws["_alias"]["_spec"].ai
        last_day = last_used.date()
        for day in _days(max(created.date(), b.first_day), last_day):
            chance = 0.08 if day.weekday() >= 5 else 0.75
            if day != last_day and b.rng.random() >= chance:
                continue
            if day in gaps:
                continue
            start = max(b.at(day, 0), created)
            if running and day == last_day and ws["_last_start"] is not None:
                start = max(start, ws["_last_start"])
            end = min(b.at(day, 0) + timedelta(days=1), last_used)
            cap = int((end - start).total_seconds())
            seconds = min(cap, b.rng.randint(90, 510) * 60)
            if seconds < 60:
                continue
            if ai:
                credits = round(b.rng.uniform(8, 60) * seconds / 28_800, 2)
            else:
                credits = round(b.rng.uniform(0, 3), 2) if b.rng.random() < 0.3 else 0.0
            posted = b.ago(minutes=10) if day == b.today else b.at(day + timedelta(days=1), 2)
            rows.append({
                "id": "", "updated_at": iso(min(posted, b.now)), "deleted": False,
                "day": day.isoformat(), "customer_id": ws["customer_id"],
                "workspace_id": ws["id"], "user_id": ws["owner_user_id"],
                "workspace_seconds": seconds, "ai_credits_used": credits,
                "cost_usd": round(seconds / 3600 * rate + credits * AI_CREDIT_USD, 2),
            })
    rows.sort(key=lambda r: (r["day"], r["workspace_id"]))
    for i, row in enumerate(rows, 1):
        row["id"] = f"use-{i:07d}"
    b.usage = rows


def add_periods(b: DemoBuilder) -> None:
    """One row per customer per day since it exists: past days reconciled once the provider's
    data covers them (04:00 the next day), today pending, unless a story says otherwise."""
    rows: list[Obj] = []
    fresh = b.ago(hours=1)
    for cust in sorted(b.customers, key=lambda c: c["id"]):
        for day in _days(max(b.first_day, cust["_created"].date()), b.today):
            closed = b.at(day + timedelta(days=1), 4)
            default = ("reconciled", closed) if closed <= fresh else ("pending", fresh)
            state, through = b.period_overrides.get((cust["_key"], day), default)
            rows.append({
                "id": "", "updated_at": iso(min(through + timedelta(minutes=30), b.now)),
                "deleted": False, "day": day.isoformat(), "customer_id": cust["id"],
                "reconciliation": state, "provider_data_through": iso(through),
            })
    rows.sort(key=lambda r: (r["day"], r["customer_id"]))
    for i, row in enumerate(rows, 1):
        row["id"] = f"per-{i:06d}"
    b.periods = rows


def add_audit_trail(b: DemoBuilder) -> None:
    """Sign-ins, provisioning, invites, workspace requests and analytics views, by time."""
    by_email = {u["email"]: u for u in b.users}
    for u in b.users:
        cust = u["_customer"]
        b.add_audit(_at(u["last_sign_in_at"]), "user.sign_in", u, cust, "user", u["id"])
        if u["provisioning"]["state"] == "failed":
            b.add_audit(_at(u["provisioning"]["updated_at"]), "user.provision", None, cust,
                        "user", u["id"], "failed", u["provisioning"]["reason"])
    replacements = {id(i["_replaced_by"]): i for i in b.invites if i["_replaced_by"]}
    for inv in b.invites:
        cust, issuer = inv["_customer"], inv["_issuer"]
        old = replacements.get(id(inv))
        if old is not None:
            b.add_audit(_at(inv["created_at"]), "invite.reissue", issuer, cust, "invite",
                        inv["id"], detail=f"replaces {old['id']}")
            b.add_audit(_at(old["updated_at"]), "invite.revoke", issuer, cust, "invite",
                        old["id"], detail=f"replaced by {inv['id']}")
        elif inv["state"] != "revoked":
            b.add_audit(_at(inv["created_at"]), "invite.create", issuer, cust, "invite",
                        inv["id"], detail=f"role {inv['role']}")
        invitee = {"id": None, "email": inv["email"]}
        if inv["accepted_at"]:
            b.add_audit(_at(inv["accepted_at"]), "invite.accept", by_email.get(inv["email"]),
                        cust, "invite", inv["id"])
        if inv["consumed_at"]:
            b.add_audit(_at(inv["consumed_at"]), "invite.accept", invitee, cust, "invite",
                        inv["id"], "denied", "Invite link already used; access denied")
        if inv["state"] == "expired":
            b.add_audit(_at(inv["expires_at"]), "invite.expire", None, cust, "invite", inv["id"])
    for ws in b.workspaces:
        cust, owner = ws["_customer"], ws["_owner"]
        for code in (x["code"] for x in ws["create_blockers"]):
            b.add_audit(_at(ws["created_at"]), "workspace.create", owner, cust, "workspace",
                        ws["id"], "failed", f"create blocked: {code}")
    for build in b.builds:
        ws = build["_ws"]
        action = "workspace.create" if build["build_number"] == 1 else (
            f"workspace.{build['transition']}")
        actor = by_email.get(build["initiator_email"] or "")
        detail = f"build #{build['build_number']}" + ("" if actor else " (scheduled by Console)")
        b.add_audit(_at(build["created_at"]), action, actor, ws["_customer"], "workspace",
                    ws["id"], detail=detail)
    for v in b.views:
        cust = v["customer"]
        first, last = v["from"].isoformat(), v["to"].isoformat()
        seen = iso(v["at"])  # rows posted by the time of the view
        shown = sum(1 for r in b.usage if r["customer_id"] == cust["id"]
                    and first <= r["day"] <= last and r["updated_at"] <= seen)
        if v["result"] == "denied":
            detail = "Analytics is available to customer admins and platform operators."
        else:
            detail = json.dumps({"customer_id": cust["id"], "from": first, "to": last,
                                 "rows_shown": 0 if v["result"] == "empty" else shown})
        b.add_audit(v["at"], "analytics.view", v["actor"], cust, "analytics", cust["id"],
                    v["result"], detail)
    b.audit.sort(key=lambda a: a["time"])
    for i, event in enumerate(b.audit, 1):
        event["id"] = f"aud-{i:06d}"


def _at(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))

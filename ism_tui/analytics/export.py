"""Exporting an ``AnalyticsView`` as JSON (everything) or CSV (per-day rows plus a total row).

Every string is passed through ``ism_tui.redact.scrub_values`` (no escape sequence or secret
reaches a terminal or a spreadsheet) and CSV cells that a spreadsheet would run as a formula are
defused.
Views hold no secrets by construction (ids, names, emails, dates, states, numbers); a member's
denied view cannot be exported.
"""

from __future__ import annotations

import csv
import io
from typing import Any

import orjson

from ism_tui.analytics.service import AnalyticsError, AnalyticsView
from ism_tui.redact import scrub_values
from storage.usage_models import UsageAmounts

CSV_COLUMNS = (
    "day", "customer_id", "customer", "workspace_hours", "workspace_seconds",
    "ai_credits_used", "cost_usd", "usage_rows", "reconciliation", "provider_data_through",
)
TOTAL_DAY = "TOTAL"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _amounts(a: UsageAmounts) -> dict[str, Any]:
    return {
        "workspace_hours": round(a.workspace_hours, 2),
        "workspace_seconds": a.workspace_seconds,
        "ai_credits_used": round(a.ai_credits_used, 2),
        "cost_usd": round(a.cost_usd, 2),
        "usage_rows": a.rows,
    }


def _ts(value: Any) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def _check(view: AnalyticsView) -> None:
    if view.status == "denied":
        raise AnalyticsError(view.denied or "analytics is not available for this role")


def view_to_dict(view: AnalyticsView) -> dict[str, Any]:
    """The whole view as plain JSON-able data (the JSON export and ``--json`` output)."""
    _check(view)
    recon = {d.day: d for d in view.reconciliation}
    days = []
    for d in view.days:
        r = recon.get(d.day)
        days.append({
            "day": d.day.isoformat(),
            **_amounts(d.amounts),
            "reconciliation": r.status if r else None,
            "provider_data_through": r.provider_data_through if r else None,
        })
    data: dict[str, Any] = scrub_values({
        "scope": {"customer_id": view.selection.scope_customer_id, "label": view.scope_label},
        "period": view.selection.period.as_dict() | {"label": view.selection.period.label},
        "requested": {
            "customer_id": view.requested.scope_customer_id,
            "period": view.requested.period.as_dict(),
        },
        "generated_at": _ts(view.generated_at),
        "viewer_role": view.viewer.role,
        "status": view.status,
        "notes": view.notes,
        "totals": _amounts(view.totals),
        "days": days,
        "reconciliation": {
            "summary": view.reconciliation_summary,
            "provider_data_through": _ts(view.provider_data_through),
        },
        "top_workspaces": [
            {"workspace_id": w.workspace_id, "name": w.name, "customer_id": w.customer_id,
             "owner_email": w.owner_email, "status": w.status, **_amounts(w.amounts)}
            for w in view.top_workspaces
        ],
        "top_users": [
            {"user_id": u.user_id, "email": u.email, "name": u.name,
             "customer_id": u.customer_id, "workspaces": u.workspaces, **_amounts(u.amounts)}
            for u in view.top_users
        ],
        "top_customers": [
            {"customer_id": c.customer_id, "name": c.name, **_amounts(c.amounts)}
            for c in view.top_customers
        ],
        "workspaces_with_usage": view.workspaces_with_usage,
        "users_with_usage": view.users_with_usage,
        "diagnosis": [f.as_dict() for f in view.diagnosis],
        "escalation": view.escalation,
    })
    return data


def to_json(view: AnalyticsView) -> str:
    return orjson.dumps(view_to_dict(view), option=orjson.OPT_INDENT_2).decode() + "\n"


def _cell(value: Any) -> Any:
    if isinstance(value, str):
        text = value.replace("\r", " ").replace("\n", " ")
        return "'" + text if text.startswith(_FORMULA_START) else text
    return value


def to_csv(view: AnalyticsView) -> str:
    """Per-day rows then a ``TOTAL`` row; each row names the scope so files can be merged."""
    data = view_to_dict(view)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    scope_id = data["scope"]["customer_id"] or ""
    label = data["scope"]["label"]
    for d in data["days"]:
        writer.writerow([_cell(x) for x in (
            d["day"], scope_id, label, d["workspace_hours"], d["workspace_seconds"],
            d["ai_credits_used"], d["cost_usd"], d["usage_rows"], d["reconciliation"] or "",
            d["provider_data_through"] or "",
        )])
    t = data["totals"]
    summary = "; ".join(f"{k}={v}" for k, v in sorted(data["reconciliation"]["summary"].items()))
    writer.writerow([_cell(x) for x in (
        TOTAL_DAY, scope_id, label, t["workspace_hours"], t["workspace_seconds"],
        t["ai_credits_used"], t["cost_usd"], t["usage_rows"], summary,
        data["reconciliation"]["provider_data_through"] or "",
    )])
    return out.getvalue()


def export(view: AnalyticsView, fmt: str) -> str:
    if fmt == "json":
        return to_json(view)
    if fmt == "csv":
        return to_csv(view)
    raise AnalyticsError(f"unknown export format {fmt!r}: choose csv or json")

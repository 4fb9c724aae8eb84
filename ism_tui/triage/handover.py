"""The handover at the end of a triage session: what the queue holds, what the lead did, what
the Console resolved, who each open blocker waits on and what is snoozed until when. Markdown
(to paste) and JSON, secret-free like every export (``scrub_values``), written 0600."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import orjson

from ism_tui.private_files import private_directory, write_private
from ism_tui.redact import scrub_values
from ism_tui.triage.export import md_value
from ism_tui.triage.trail import STATES, Trail, effective_state, iso_min
from storage.dbapi import RowDict


def _waiting_on(mark: RowDict, state: str, lead: str) -> str:
    if state == "waiting":
        return f"the customer ({mark.get('customer') or mark.get('customer_id') or '?'})"
    if state == "escalated":
        return f"{mark.get('ticket_where') or 'the escalation'}, ticket {mark.get('ticket')}"
    return mark.get("lead") or lead


def build_report(trail: Trail, heads: list[RowDict], since: str | None,
                 freshness: str | None = None) -> dict[str, Any]:
    """The session summary from ``since`` (ISO time; None: the trail's whole history) to now.
    ``heads``: the blockers now in the cache (``storage.triage_io.blocker_heads``)."""
    now = trail.now()
    lead = trail.lead()
    since = since or _first_event(trail) or now
    current = {h["blocker_id"]: h for h in heads}
    marks = trail.store.marks_of(list(current))
    by_state: Counter[str] = Counter()
    by_case: dict[str, Counter[str]] = {}
    waiting: list[RowDict] = []
    snoozed: list[RowDict] = []
    for bid, head in current.items():
        mark = marks.get(bid)
        state = effective_state(mark, now)
        by_state[state] += 1
        by_case.setdefault(str(head["case"]), Counter())[state] += 1
        if mark is not None and state == "snoozed":
            snoozed.append({**_item({**head, **_lead_fields(mark)}),
                            "until": mark["snoozed_until"], "by": mark["lead"]})
        elif mark is not None and state in ("working", "escalated", "waiting"):
            waiting.append({**_item({**head, **_lead_fields(mark)}), "state": state,
                            "waiting_on": _waiting_on(mark, state, lead)})
    events = trail.store.events(since=since)
    happened = Counter(e["kind"] for e in events if e["kind"] in
                       ("appeared", "resolved", "worse", "reopened"))
    escalated_ids = {e["blocker_id"] for e in events if e["kind"] == "state"
                     and orjson.loads(e["detail"]).get("state") == "escalated"}
    escalated_ids.update(trail.store.ids(
        "state = 'escalated' AND (present = 1 OR resolved_at >= :since)", {"since": since}))
    escalations = [{**_item(m), "ticket": m["ticket"], "where": m["ticket_where"],
                    "open": bool(m["present"])}
                   for m in trail.store.marks_of(sorted(escalated_ids)).values()]
    resolved = [{**_item(m), "state_before": m["state"], "resolved_at": m["resolved_at"]}
                for m in trail.store.marks("present = 0 AND resolved_at >= ?", (since,))]
    edits = [e for e in events if e["kind"] in ("state", "note")]
    report = {
        "lead": lead,
        "span": {"from": since, "to": now},
        "cache_freshness": freshness,
        "queue": {"blockers": len(current),
                  "by_state": {s: by_state.get(s, 0) for s in STATES},
                  "by_case": {c: {s: n for s, n in sorted(k.items())}
                              for c, k in sorted(by_case.items())}},
        "changes": {k: happened.get(k, 0) for k in ("appeared", "worse", "reopened",
                                                    "resolved")},
        "edits": len(edits),
        "escalations": sorted(escalations, key=lambda r: (not r["open"], r["blocker_id"])),
        "resolved_by_console": sorted(resolved, key=lambda r: r["resolved_at"] or ""),
        "still_waiting": sorted(waiting, key=lambda r: (r["state"], r["blocker_id"])),
        "snoozed": sorted(snoozed, key=lambda r: (r["until"] or "", r["blocker_id"])),
    }
    return scrub_values(report)  # type: ignore[no-any-return]


def _first_event(trail: Trail) -> str | None:
    events = trail.store.events()
    return str(events[0]["at"]) if events else None


def _lead_fields(mark: RowDict) -> RowDict:
    return {k: mark[k] for k in ("state", "ticket", "ticket_where", "snoozed_until", "note",
                                 "lead")}


def _item(row: RowDict) -> RowDict:
    return {"blocker_id": row["blocker_id"], "case": row.get("case"),
            "severity": row.get("severity"), "customer": row.get("customer"),
            "summary": row.get("summary"), "note": row.get("note")}


def to_json(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=2, ensure_ascii=False)


def _table(head: list[str], rows: list[list[Any]]) -> list[str]:
    if not rows:
        return ["(none)", ""]
    return ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head),
            *("| " + " | ".join(md_value(c) for c in r) + " |" for r in rows), ""]


def to_markdown(report: dict[str, Any]) -> str:
    span, queue, changes = report["span"], report["queue"], report["changes"]
    out = [f"# Triage handover: {md_value(report['lead'])}", "",
           f"- **Span:** {iso_min(span['from'])} to {iso_min(span['to'])}",
           f"- **Cache:** {md_value(report['cache_freshness'])}",
           f"- **Queue:** {queue['blockers']} blockers; in the span {changes['appeared']} "
           f"appeared, {changes['worse']} got worse, {changes['reopened']} reopened, "
           f"{changes['resolved']} resolved by the Console; {report['edits']} edits by the lead",
           "", "## By state", ""]
    out += _table(["state", "blockers"], [[s, n] for s, n in queue["by_state"].items()])
    out += ["## By case", ""]
    out += _table(["case", *STATES],
                  [[c, *(k.get(s, 0) for s in STATES)] for c, k in queue["by_case"].items()])
    out += ["## Escalations", ""]
    out += _table(["ticket", "where", "customer", "case", "open", "note", "blocker"],
                  [[e["ticket"], e["where"], e["customer"], e["case"],
                    "open" if e["open"] else "resolved", e["note"], f"`{e['blocker_id']}`"]
                   for e in report["escalations"]])
    out += ["## Still waiting", ""]
    out += _table(["on whom", "state", "customer", "case", "note", "blocker"],
                  [[w["waiting_on"], w["state"], w["customer"], w["case"], w["note"],
                    f"`{w['blocker_id']}`"] for w in report["still_waiting"]])
    out += ["## Snoozed (out of the queue until then)", ""]
    out += _table(["until", "by", "customer", "case", "note", "blocker"],
                  [[iso_min(s["until"]), s["by"], s["customer"], s["case"], s["note"],
                    f"`{s['blocker_id']}`"] for s in report["snoozed"]])
    out += ["## Resolved by the Console", ""]
    out += _table(["resolved", "customer", "case", "state before", "note", "blocker"],
                  [[iso_min(r["resolved_at"]), r["customer"], r["case"], r["state_before"],
                    r["note"], f"`{r['blocker_id']}`"] for r in report["resolved_by_console"]])
    return "\n".join(out)


def save(report: dict[str, Any], markdown_path: Path) -> tuple[Path, Path]:
    """The Markdown at ``markdown_path`` and the JSON beside it (same name, ``.json``)."""
    json_path = markdown_path.with_suffix(".json")
    if json_path == markdown_path:
        json_path = markdown_path.with_name(markdown_path.name + ".json")
    private_directory(markdown_path.parent)
    write_private(markdown_path, to_markdown(report) + "\n")
    write_private(json_path, to_json(report) + "\n")
    return markdown_path, json_path

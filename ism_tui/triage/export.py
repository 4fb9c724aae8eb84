"""Escalation export: Markdown (to paste into a ticket) and JSON, holding exactly the playbook's
fields for the case plus cache freshness and the export time. Every value passes through
``ism_tui.redact.scrub_values``: no token, cookie, session id, invite link, URL query, fragment
or userinfo survives.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from ism_tui.redact import scrub_values
from ism_tui.triage.model import Blocker
from ism_tui.triage.playbook import ROUTING


def escalation_record(
    b: Blocker, *, freshness: str | None, exported_at: datetime
) -> dict[str, Any]:
    record = {
        "blocker_id": b.id,
        "case": b.case,
        "title": b.playbook.title,
        "severity": b.severity_word,
        "customer": b.customer_name,
        "subject": {"type": b.subject_type, "id": b.subject_id, "name": b.subject_name},
        "summary": b.summary,
        "since": b.since,
        "reason": b.reason,
        "fields": b.escalation,
        "who_acts_next": b.owner,
        "escalate_to": b.escalate_to,
        "routing": None if b.route is None else {
            "viewer_role": b.route.viewer_role, "who_acts_next": b.route.who_acts_next,
            "escalate_to": b.route.escalate_to, "next_step": b.route.next_step,
            "you_can": b.route.you_can},
        "playbook_steps": list(b.steps),
        "done_when": list(b.done_when),
        "evidence": [{"field": e.field, "value": e.value, "since": e.since} for e in b.evidence],
        "cache_freshness": freshness,
        "exported_at": exported_at.isoformat(timespec="seconds").replace("+00:00", "Z"),
    }
    return scrub_values(record)  # type: ignore[no-any-return]


def escalating(blockers: list[Blocker]) -> list[Blocker]:
    """The blockers that go somewhere (a customer's escalation file): not the explained
    cases, not what the viewer fixes or does itself."""
    return [b for b in blockers if b.escalate_to is not None]


def to_json(blockers: list[Blocker], *, freshness: str | None = None,
            exported_at: datetime | None = None) -> str:
    when = exported_at or datetime.now(UTC)
    records = [escalation_record(b, freshness=freshness, exported_at=when) for b in blockers]
    return json.dumps({"escalations": records, "routing": ROUTING}, indent=2, ensure_ascii=False)


def md_value(value: Any) -> str:
    """A value as one Markdown table cell."""
    if value is None or value == "":
        return "—"
    if isinstance(value, list):
        return "; ".join(md_value(v) for v in value) if value else "(none)"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {md_value(v)}" for k, v in value.items())
    return str(value).replace("|", "\\|").replace("\n", " ")


def to_markdown(blockers: list[Blocker], *, freshness: str | None = None,
                exported_at: datetime | None = None) -> str:
    when = exported_at or datetime.now(UTC)
    out: list[str] = []
    for b in blockers:
        r = escalation_record(b, freshness=freshness, exported_at=when)
        out += [f"## {r['title']}", "",
                f"- **Customer:** {md_value(r['customer'])}",
                f"- **Subject:** {r['subject']['type']} {md_value(r['subject']['name'])} "
                f"(`{r['subject']['id']}`)",
                f"- **Severity:** {r['severity']}  ·  **Since:** {md_value(r['since'])}",
                f"- **Summary:** {md_value(r['summary'])}"]
        if b.explained_only:
            out.append("- **Escalation:** none — this is expected behaviour; explain it.")
        else:
            out.append(f"- **Who acts next:** {md_value(r['who_acts_next'])}  ·  "
                       f"**Escalate to:** {md_value(r['escalate_to'] or 'nobody')}")
        if r["routing"]:
            role = str(r["routing"]["viewer_role"]).replace("_", " ")
            out.append(f"- **Next step (for the {role}):** "
                       f"{md_value(r['routing']['next_step'])}")
            if r["routing"]["you_can"]:
                out.append(f"- **You can do this now:** {md_value(r['routing']['you_can'])}")
        out += ["", "| field | value |", "| --- | --- |"]
        out += [f"| {k} | {md_value(v)} |" for k, v in r["fields"].items()
                if k != "last_log_lines"]
        logs = r["fields"].get("last_log_lines")
        if logs:
            out += ["", "Last build log lines:", "", "```"]
            out += [str(line).replace("```", "'''") for line in logs]
            out += ["```"]
        out += ["", "Evidence:", ""]
        out += [f"- `{e['field']}` = {md_value(e['value'])}"
                + (f" (since {e['since']})" if e["since"] else "") for e in r["evidence"]]
        out += ["", "Playbook steps:", ""]
        out += [f"{i}. {s}" for i, s in enumerate(r["playbook_steps"], 1)]
        out += ["", "Done when:", ""]
        out += [f"- [ ] {s}" for s in r["done_when"]]
        out += ["", f"_Cache: {md_value(r['cache_freshness'])} · exported {r['exported_at']} · "
                f"`{r['blocker_id']}`_", ""]
    out += [f"> {ROUTING}", ""]
    return "\n".join(out)

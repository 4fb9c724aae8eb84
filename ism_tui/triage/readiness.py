"""Create readiness: the playbook's seven create blockers read from cached state, before anyone
tries a create. Pure: cached rows in, ``NotReady`` items out.

A customer is *blocked* when no create can succeed (billing approval, prepaid balance, managed-AI
credit, SSO), and *limited* when only some creates fail (an unavailable allowed target, an
unavailable or deprecated template alias its workspaces use, a user whose provisioning failed).
``create_readiness`` answers for one user x template x target: what the retry guard checks.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ism_tui.text import one_line
from storage.dbapi import RowDict

CUSTOMER_WIDE = ("billing_approval_missing", "prepaid_balance_missing", "ai_credit_missing",
                 "sso_incomplete")
SHORT = {"billing_approval_missing": "billing", "prepaid_balance_missing": "prepaid",
         "ai_credit_missing": "AI credit", "sso_incomplete": "SSO",
         "target_unavailable": "target", "template_alias_unavailable": "template",
         "user_provisioning_failed": "user"}


@dataclass(frozen=True)
class NotReady:
    """One reason a create would be refused: ``code`` is the create blocker, ``subject`` what
    it is about (``customer``, ``target``, ``template``, ``user``) and ``subject_id`` which."""

    code: str
    message: str
    since: str | None
    subject: str
    subject_id: str
    subject_name: str

    @property
    def summary(self) -> str:  # what the actions policy names in a refusal
        return self.message

    @property
    def customer_wide(self) -> bool:
        return self.code in CUSTOMER_WIDE


def _day(stamp: str | None) -> str:
    return f" since {stamp[:10]} {stamp[11:16]}Z" if stamp and len(stamp) >= 16 else ""


def customer_wide(customer: RowDict) -> list[NotReady]:
    """What blocks every create of this customer."""
    out = []
    cid, name = customer["id"], one_line(customer.get("name") or customer["id"], 120)

    def add(code: str, message: str, since: str | None) -> None:
        out.append(NotReady(code, message, since, "customer", cid, name))

    approval = customer.get("billing_approval")
    if approval is not None and approval != "approved":
        since = customer.get("billing_approval_updated_at")
        add("billing_approval_missing", f"billing approval {approval}{_day(since)}", since)
    prepaid = customer.get("prepaid_seconds_left")
    if prepaid is not None and prepaid <= 0:
        since = customer.get("prepaid_updated_at")
        add("prepaid_balance_missing", f"no prepaid workspace-time balance left{_day(since)}",
            since)
    credit = customer.get("ai_credit_left")
    if credit is not None and credit <= 0:
        since = customer.get("ai_credit_updated_at")
        add("ai_credit_missing", f"no managed-AI credit left{_day(since)}", since)
    if customer.get("sso_state") == "incomplete":
        since = customer.get("sso_updated_at")
        steps = [one_line(s, 80) for s in customer.get("sso_missing_steps") or []]
        add("sso_incomplete", f"SSO setup incomplete{_day(since)}"
            + (f": missing {'; '.join(steps)}" if steps else ""), since)
    return out


def target_problem(target: RowDict | None, target_id: str) -> NotReady | None:
    """An unavailable target (one the cache does not hold yet is no evidence either way)."""
    if target is None or target.get("state") != "unavailable":
        return None
    since = target.get("state_since")
    reason = one_line(target.get("state_reason") or "", 200)
    label = one_line(target.get("name") or target_id, 60)
    return NotReady("target_unavailable", f"target {label} unavailable{_day(since)}"
                    + (f": {reason}" if reason else ""), since, "target", target_id, label)


def alias_problem(alias: RowDict | None, name: str) -> NotReady | None:
    """An unavailable or deprecated alias (an alias the cache does not hold: no evidence)."""
    if alias is None or alias.get("state") == "available":
        return None
    label = one_line(name, 60)
    since = alias.get("state_since")
    reason = one_line(alias.get("state_reason") or "", 200)
    version = one_line(f"{alias.get('template_name') or ''} {alias.get('template_version') or ''}"
                       .strip(), 60)
    return NotReady("template_alias_unavailable",
                    f"template alias {label}" + (f" ({version})" if version else "")
                    + f" is {alias.get('state')}{_day(since)}" + (f": {reason}" if reason else ""),
                    since, "template", name, label)


def user_problem(user: RowDict | None) -> NotReady | None:
    if user is None or user.get("provisioning_state") != "failed":
        return None
    since = user.get("provisioning_updated_at")
    reason = one_line(user.get("provisioning_reason") or "", 200)
    email = one_line(user.get("email") or user["id"], 120)
    return NotReady("user_provisioning_failed",
                    f"workspace user provisioning failed for {email}{_day(since)}"
                    + (f": {reason}" if reason else ""), since, "user", user["id"], email)


def customer_readiness(customer: RowDict, targets: dict[str, RowDict], aliases: dict[str, RowDict],
                       aliases_in_use: Iterable[str] = (),
                       users: Iterable[RowDict] = ()) -> list[NotReady]:
    """Every create blocker of a customer: customer-wide ones, then its unavailable allowed
    targets, the unusable template aliases its workspaces use, its users whose provisioning
    failed."""
    out = customer_wide(customer)
    for target_id in customer.get("allowed_target_ids") or []:
        found = target_problem(targets.get(target_id), target_id)
        if found:
            out.append(found)
    for name in sorted(set(aliases_in_use)):
        found = alias_problem(aliases.get(name), name)
        if found:
            out.append(found)
    out.extend(p for p in map(user_problem, users) if p is not None)
    return out


def create_readiness(customer: RowDict | None, owner: RowDict | None, alias: RowDict | None,
                     alias_name: str, target: RowDict | None, target_id: str) -> list[NotReady]:
    """What would refuse a create (or its retry) by ``owner`` from ``alias`` on ``target``."""
    out = customer_wide(customer) if customer else []
    for found in (target_problem(target, target_id), alias_problem(alias, alias_name),
                  user_problem(owner)):
        if found:
            out.append(found)
    return out


def readiness_word(cases: Iterable[str]) -> tuple[str, str]:
    """The readiness column: ``("ready", "")``, ``("blocked", "billing")`` when a customer-wide
    blocker stops every create, else ``("limited", "target")``; ``+`` when there are more."""
    found = sorted({c for c in cases if c in SHORT}, key=list(SHORT).index)
    if not found:
        return "ready", ""
    more = "+" if len(found) > 1 else ""
    wide = [c for c in found if c in CUSTOMER_WIDE]
    return ("blocked" if wide else "limited"), SHORT[found[0]] + more

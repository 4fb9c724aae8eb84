"""Ad-hoc escalations: someone phones in about a user, workspace or customer that has no blocker
in the cache; the escalation still carries the playbook fields of the matching case."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tui_support import make_services

from ism_tui.cli import main
from ism_tui.triage.playbook import CASES
from ism_tui.triage.store import SubjectNotFound, subject_escalations


@pytest.fixture
def cli(tmp_path: Path, demo_world_session, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    services = make_services(tmp_path, demo_world_session, token="demo-admin")
    services.close()
    monkeypatch.setenv("ISM_TUI_CACHE_DIR", str(tmp_path / "cache"))

    def run(*args: str) -> int:
        return main(["--config", str(tmp_path / "config.toml"), "--profile", "t",
                     "escalate", *args])
    return run


def _records(capsys) -> list[dict]:  # type: ignore[no-untyped-def]
    return json.loads(capsys.readouterr().out)["escalations"]  # type: ignore[no-any-return]


def test_a_user_without_a_blocker_gets_the_account_setup_fields(cli, capsys,
                                                                demo_world_session) -> None:
    grace = next(u for u in demo_world_session.users.values()
                 if u["email"].startswith("grace.whitfield"))
    assert cli("--user", grace["email"].upper(), "--format", "json") == 0
    [record] = _records(capsys)
    assert record["case"] == "role_not_mapped" and record["blocker_id"].startswith("adhoc:")
    assert set(record["fields"]) == set(CASES["role_not_mapped"].fields)
    assert record["fields"]["user_email"] == grace["email"]
    assert record["fields"]["visible_navigation"] == grace["visible_navigation"]
    assert record["fields"]["approx_sign_in_time"].startswith(grace["last_sign_in_at"][:16])
    assert record["routing"]["viewer_role"] == "customer_admin"


def test_a_workspace_and_a_case_chosen_by_the_lead(cli, capsys) -> None:
    assert cli("--workspace", "claims-api-dev", "--case", "launch_url_internal",
               "--format", "json") == 0
    [record] = _records(capsys)
    assert record["fields"]["url_host"] == "10.12.4.7"  # the host only, never the token
    assert "s3cr3t" not in json.dumps(record)
    # a workspace with blockers exports those instead
    assert cli("--workspace", "imaging-pipeline", "--format", "json") == 0
    assert [r["case"] for r in _records(capsys)] == ["provisioning_failed"]


def test_unknown_or_ambiguous_subjects_say_what_to_type(tmp_path, demo_world_session) -> None:
    services = make_services(tmp_path, demo_world_session)
    try:
        with pytest.raises(SubjectNotFound, match="no user"):
            subject_escalations(services.engine, "user", "nobody@example.com")
        found = subject_escalations(services.engine, "customer", "Copperleaf Energy")
        assert [b.case for b in found] == ["analytics_empty"]  # healthy: nothing to flag
        assert found[0].escalation["customer"].startswith("Copperleaf Energy")
    finally:
        services.close()

"""Build log scripts: what a provisioner prints for a start, a stop, and the two failure stories.

A script is a tuple of ``(seconds after the build started, stage, level, text)``; ``render``
turns it into ``BuildLog`` wire dicts. Texts are ``str.format`` templates over the build's facts
(workspace, template, initiator...). Terraform really colours its output, so one line keeps its
ANSI colour codes: clients must strip them where data enters.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

Obj = dict[str, Any]
Script = tuple[tuple[int, str, str, str], ...]

START_OK: Script = (
    (0, "init", "info", "Build #{n} ({transition}) queued by {initiator}"),
    (2, "init", "info", "Using template {template}@{version}"),
    (9, "plan", "info", "Plan: 4 to add, 0 to change, 0 to destroy."),
    (21, "apply", "info", "kubernetes_pod.workspace[0]: Creation complete after 11s"),
    (27, "volume attach", "info", "Attached volume pvc-{ws}-home (50Gi) to /home/coder"),
    (31, "agent", "info", "Waiting for the workspace agent to connect"),
    (44, "agent", "info", "Agent connected (v2.14.3); startup script finished in 9s"),
    (45, "agent", "info", "Workspace {ws} is running"),
)

STOP_OK: Script = (
    (0, "init", "info", "Build #{n} ({transition}) queued by {initiator}"),
    (3, "apply", "info", "Stopping workspace agent and saving the home volume"),
    (14, "apply", "info", "kubernetes_pod.workspace[0]: Destruction complete after 10s"),
    (15, "apply", "info", "Workspace {ws} stopped; home volume kept"),
)

DELETE_OK: Script = (
    (0, "init", "info", "Build #{n} ({transition}) queued by {initiator}"),
    (5, "apply", "info", "kubernetes_pod.workspace[0]: Destruction complete after 4s"),
    (19, "apply", "info", "kubernetes_persistent_volume_claim.home: Destruction complete"),
    (20, "apply", "info", "Workspace {ws} deleted"),
)

# ~40 lines: the pod is scheduled on a new node but the home volume is still attached to the old
# one (a multi-attach error), so the start times out at "volume attach". A retry fails the same
# way until an operator detaches the volume through Console.
VOLUME_ATTACH_FAILURE: Script = (
    (0, "init", "info", "Build #{n} ({transition}) queued by {initiator}"),
    (1, "init", "info", "Provisioner daemon pd-eu-west-2 picked up the job"),
    (2, "init", "info", "Fetching template {template}@{version}"),
    (3, "init", "info", "Workspace parameters: cpu=8, memory=32Gi, disk=200Gi"),
    (5, "plan", "info", "Initializing Terraform providers"),
    (6, "plan", "info", "- Using coder/coder v0.23.0"),
    (6, "plan", "info", "- Using hashicorp/kubernetes v2.31.0"),
    (7, "plan", "warn", "Provider hashicorp/kubernetes v2.31.0 is older than the tested v2.33"),
    (9, "plan", "info", "Refreshing state... 7 resources"),
    (12, "plan", "info", "Plan: 2 to add, 1 to change, 0 to destroy."),
    (14, "apply", "info", "coder_agent.main: Modifying... [id=agent-{ws}]"),
    (14, "apply", "info", "coder_agent.main: Modifications complete after 0s"),
    (15, "apply", "info", "kubernetes_pod.workspace[0]: Creating..."),
    (25, "apply", "info", "kubernetes_pod.workspace[0]: Still creating... [10s elapsed]"),
    (26, "apply", "info", "Pod scheduled on node ip-10-12-7-21 (previous node ip-10-12-3-88 "
                          "was drained)"),
    (35, "apply", "info", "\x1b[1mkubernetes_pod.workspace[0]: Still creating... [20s elapsed]"
                          "\x1b[0m"),
    (36, "volume attach", "info", "Attaching volume pvc-{ws}-home (200Gi) to ip-10-12-7-21"),
    (66, "volume attach", "warn", "AttachVolume.Attach is taking longer than expected (30s)"),
    (67, "volume attach", "warn", "Volume pvc-{ws}-home still reports node ip-10-12-3-88"),
    (96, "volume attach", "info", "Retrying attach (attempt 2 of 5)"),
    (97, "volume attach", "error", 'Multi-Attach error for volume "pvc-{ws}-home": volume is '
                                   "already exclusively attached to one node"),
    (156, "volume attach", "info", "Retrying attach (attempt 3 of 5)"),
    (157, "volume attach", "error", 'Multi-Attach error for volume "pvc-{ws}-home": volume is '
                                    "already exclusively attached to one node"),
    (276, "volume attach", "info", "Retrying attach (attempt 4 of 5)"),
    (277, "volume attach", "error", 'Multi-Attach error for volume "pvc-{ws}-home": volume is '
                                    "already exclusively attached to one node"),
    (396, "volume attach", "warn", "Detach from ip-10-12-3-88 was requested but the node does "
                                   "not answer"),
    (456, "volume attach", "info", "Retrying attach (attempt 5 of 5)"),
    (457, "volume attach", "error", 'Multi-Attach error for volume "pvc-{ws}-home": volume is '
                                    "already exclusively attached to one node"),
    (460, "agent", "info", "Waiting for the workspace agent to connect"),
    (520, "agent", "warn", "Pod is still ContainerCreating: waiting for volume pvc-{ws}-home"),
    (580, "agent", "warn", "Workspace agent has not connected yet (2m elapsed)"),
    (600, "volume attach", "error", "Timed out after 10m0s waiting for volume pvc-{ws}-home to "
                                    "attach to ip-10-12-7-21"),
    (601, "apply", "info", "kubernetes_pod.workspace[0]: Creation failed"),
    (601, "apply", "error", "Error: timed out waiting for pod {ws} to become ready"),
    (602, "agent", "info", "Revoking the agent token of this build"),
    (603, "init", "info", "Keeping the home volume: storage is never deleted by a failed build"),
    (604, "init", "warn", "Do not delete pvc-{ws}-home by hand; retry or stop through Console"),
    (605, "volume attach", "error", "Build #{n} failed at stage \"volume attach\": {error}"),
)

# The workspace starts, but its startup script cannot reach an internal package mirror, so the
# agent never reports ready. Transient: a retry succeeds.
AGENT_FAILURE: Script = (
    (0, "init", "info", "Build #{n} ({transition}) queued by {initiator}"),
    (1, "init", "info", "Provisioner daemon pd-us-east-1 picked up the job"),
    (2, "init", "info", "Fetching template {template}@{version}"),
    (4, "plan", "info", "Initializing Terraform providers"),
    (6, "plan", "info", "Refreshing state... 5 resources"),
    (8, "plan", "info", "Plan: 4 to add, 0 to change, 0 to destroy."),
    (9, "apply", "info", "kubernetes_pod.workspace[0]: Creating..."),
    (20, "apply", "info", "kubernetes_pod.workspace[0]: Creation complete after 11s"),
    (26, "volume attach", "info", "Attached volume pvc-{ws}-home (50Gi) to /home/coder"),
    (30, "agent", "info", "Waiting for the workspace agent to connect"),
    (41, "agent", "info", "Agent connected (v2.14.3); running startup script"),
    (47, "agent", "info", "startup: pip install -r requirements.txt"),
    (48, "agent", "info", "startup: Looking in indexes: https://pypi.internal.acmerobotics.example"),
    (78, "agent", "warn", "startup: connection to pypi.internal.acmerobotics.example timed out"),
    (108, "agent", "warn", "startup: retrying pip download (attempt 2 of 3)"),
    (170, "agent", "warn", "startup: retrying pip download (attempt 3 of 3)"),
    (231, "agent", "error", "startup: could not resolve host pypi.internal.acmerobotics.example"),
    (232, "agent", "error", "startup script exited with code 1"),
    (630, "agent", "error", "Workspace agent did not become ready within 10m0s"),
    (631, "agent", "error", 'Build #{n} failed at stage "agent": {error}'),
)

# Scale scenario: one short generic failure per failed build (~20 lines).
SHORT_FAILURE: Script = VOLUME_ATTACH_FAILURE[:6] + VOLUME_ATTACH_FAILURE[16:30]


def render(
    script: Script, build: Obj, start: datetime, first_id: int, fmt: Any, **facts: Any
) -> list[Obj]:
    """``BuildLog`` dicts for ``build`` (ids from ``first_id``); ``fmt`` formats timestamps."""
    values = {
        "n": build["build_number"],
        "transition": build["transition"],
        "initiator": build.get("initiator_email") or "Console",
        "error": build.get("error") or "",
        **facts,
    }
    return [
        {
            "id": first_id + i,
            "build_id": build["id"],
            "created_at": fmt(start + timedelta(seconds=offset)),
            "stage": stage,
            "level": level,
            "output": text.format(**values),
        }
        for i, (offset, stage, level, text) in enumerate(script)
    ]

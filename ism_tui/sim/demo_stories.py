"""The demo's customers and the playbook case each one tells.

Every customer gets ordinary staff and a fleet of healthy workspaces (``staff``, ``fleet``), then
its story: the objects that make one playbook case visible, registered in ``DemoBuilder.cases``.
The demo-admin's customer, Northwind Health, holds several cases so a customer admin's view is
not empty.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from ism_tui.sim import demo_catalog as cat
from ism_tui.sim import demo_logs
from ism_tui.sim.demo_builder import DemoBuilder, Obj, iso

MEMBER, ADMIN, OPERATOR = "customer_member", "customer_admin", "platform_operator"
VOLUME_ERROR = (
    'AttachVolume.Attach failed for volume "pvc-imaging-pipeline-home": Multi-Attach error, '
    "the volume is still exclusively attached to node ip-10-12-3-88; timed out after 10m0s"
)
AGENT_ERROR = (
    "The workspace agent did not become ready within 10m0s: startup script exited with code 1 "
    "(could not resolve host pypi.internal.acmerobotics.example)"
)


def staff(
    b: DemoBuilder, cust: Obj, n: int, inviter: Obj, founder: tuple[str, str] | None = None
) -> list[Obj]:
    """``n`` users: a founding admin invited by an operator, a second admin in larger teams,
    members after them, each with the accepted invite that brought them in."""
    first = cust["_created"] + timedelta(days=1)
    admin = b.add_user(cust, *(founder or b.person()), ADMIN, first, invited_by=inviter)
    users = [admin]
    joined = sorted(b.between(first + timedelta(days=1), b.ago(days=3)) for _ in range(n - 1))
    for i, at in enumerate(joined):
        role = ADMIN if i == 0 and n >= 8 else MEMBER
        users.append(b.add_user(cust, *b.person(), role, at, invited_by=admin))
    return users


def fleet(
    b: DemoBuilder, cust: Obj, users: list[Obj], n: int, aliases: tuple[str, ...],
    targets: tuple[str, ...], *, stopped: tuple[datetime, datetime] | None = None,
    autostop: bool = False,
) -> list[Obj]:
    """``n`` healthy workspaces: ~45% running since this morning, the rest stopped in the last
    days (or all stopped between the two ``stopped`` instants, by Console if ``autostop``)."""
    taken = {ws["name"] for ws in b.workspaces if ws["_customer"] is cust}
    projects = cat.PROJECTS_BY_CUSTOMER.get(cust["_key"], cat.PROJECTS)
    running = set(b.rng.sample(range(n), 0 if stopped else max(1, round(n * 0.45))))
    out = []
    for i in range(n):
        name = ""
        while not name or name in taken:
            name = b.rng.choice(projects) + b.rng.choice(cat.WORKSPACE_SUFFIXES)
        taken.add(name)
        if i in running:
            end = b.between(b.ago(hours=3), b.ago(minutes=10))
        elif stopped:
            end = b.between(*stopped)
        else:
            end = b.between(b.ago(days=12), b.ago(hours=1))
        owners = [u for u in users if u["_created"] < end - timedelta(days=1)] or users[:1]
        owner = b.rng.choice(owners)
        created = b.between(owner["_created"] + timedelta(hours=1), end - timedelta(hours=6))
        history = b.cycles(created, end, i in running, owner["email"])
        if autostop:
            history[-1] = (history[-1][0], history[-1][1], None)
        alias, target = b.rng.choice(aliases), b.rng.choice(targets)
        out.append(b.add_workspace(cust, owner, name, alias, target, created, history))
    return out


def senior(b: DemoBuilder, people: list[Obj], before: datetime) -> Obj:
    """Someone who had joined a day before ``before`` (the founding admin if nobody else)."""
    return b.rng.choice([u for u in people if u["_created"] < before - timedelta(days=1)]
                        or people[:1])


def promoted(b: DemoBuilder, user: Obj, at: datetime) -> None:
    """``user`` became a customer admin at ``at``, after their last sign-in: Console still shows
    them the member navigation until they sign in again."""
    user.update(role=ADMIN, idp_role=ADMIN, role_updated_at=iso(at))
    user["updated_at"] = max(user["updated_at"], iso(at))
    b.case("role_changed_after_sign_in", user)


def blocked(
    b: DemoBuilder, cust: Obj, owner: Obj, name: str, alias: str, target: str, at: datetime,
    code: str, /, **facts: str,
) -> Obj:
    """A create Console refused: status pending, no build, the blocker in Console's words."""
    message = cat.BLOCKER_MESSAGES[code].format(customer=cust["name"], **facts)
    ws = b.add_workspace(cust, owner, name, alias, target, at, blockers=[(code, message)])
    b.case(code, ws)
    return ws


def view(b: DemoBuilder, actor: Obj, cust: Obj, first: date, last: date, at: datetime,
         result: str = "ok") -> None:
    b.views.append({"actor": actor, "customer": cust, "from": first, "to": last, "at": at,
                    "result": result})


def add_all(b: DemoBuilder) -> None:
    """Every customer of the demo, oldest first."""
    b.reserve("Sam Rivera", "Jordan Ellis", "Mei Tanaka", "Grace Whitfield", "Tom Becker",
              "Priya Raman", "Dana Okafor", "Ivan Petrov", "Wen Zhang", "Felix Moreau",
              "Esther Walsh", "Hugo Santos", "Leila Kaur", "Oskar Larsen", "Nina Haddad")
    ops = [
        b.add_user(None, "Sam", "Rivera", OPERATOR, b.ago(days=720), last_sign_in=b.ago(minutes=9)),
        b.add_user(None, "Jordan", "Ellis", OPERATOR, b.ago(days=650)),
        b.add_user(None, "Mei", "Tanaka", OPERATOR, b.ago(days=400)),
    ]
    b.tokens["demo-operator"] = ops[0]
    _healthy(b, ops)
    _northwind(b, ops)
    _billing_stories(b, ops)
    _analytics_stories(b, ops)


def _healthy(b: DemoBuilder, ops: list[Obj]) -> None:
    t = b.today
    acme = b.add_customer("acme", "Acme Robotics", "acmerobotics.example", 420,
                          ("eu-west-prod", "us-east-prod", "eu-central-dev"))
    people = staff(b, acme, 12, ops[1])
    promoted(b, people[5], b.ago(minutes=15))
    sim_owner = senior(b, people, b.ago(days=33))
    ml_owner = senior(b, people, b.ago(days=21))
    ci_owner = senior(b, people, b.ago(days=50))
    web_owner = senior(b, people, b.ago(days=80))
    internal = b.add_workspace(
        acme, sim_owner, "robot-sim-dev", "python-dev", "us-east-prod", b.ago(days=33),
        b.cycles(b.ago(days=33), b.ago(hours=2, minutes=12), True, sim_owner["email"]),
        app_urls={"code-server": "https://code-server.ws-1.svc.cluster.local/"},
    )
    b.case("launch_url_internal", internal)
    history = b.cycles(b.ago(days=21), b.ago(days=1, hours=15), False, ml_owner["email"])
    failed = b.add_workspace(
        acme, ml_owner, "perception-training", "gpu-pytorch", "us-east-prod", b.ago(days=21),
        [*history, ("start", b.ago(hours=1, minutes=50), ml_owner["email"])],
        failure=("agent", AGENT_ERROR, demo_logs.AGENT_FAILURE),
    )
    b.case("provisioning_failed", failed)
    history = b.cycles(b.ago(days=50), b.ago(days=2), False, ci_owner["email"])
    b.add_workspace(acme, ci_owner, "firmware-ci-dev", "go-service", "eu-central-dev",
                    b.ago(days=50), [*history, ("start", b.ago(minutes=2), ci_owner["email"])],
                    final_status="running")
    history = b.cycles(b.ago(days=80), b.ago(days=30), False, web_owner["email"])
    b.add_workspace(acme, web_owner, "old-demo-site", "node-web", "eu-west-prod", b.ago(days=80),
                    [*history, ("delete", b.ago(days=5), web_owner["email"])])
    fleet(b, acme, people, 19, ("python-dev", "node-web", "go-service", "gpu-pytorch"),
          ("eu-west-prod", "us-east-prod", "eu-central-dev"))
    lapsed = b.add_invite(acme, "ivan.petrov@acmerobotics.example", MEMBER, b.ago(days=15),
                          "expired", people[0])
    b.case("invite_expired", lapsed)
    b.add_invite(acme, "wen.zhang@acmerobotics.example", MEMBER, b.ago(days=1, hours=4),
                 "pending", people[1])
    view(b, people[0], acme, t - timedelta(days=29), t, b.ago(days=1, hours=3))
    view(b, ops[0], acme, t - timedelta(days=6), t, b.ago(hours=7))

    eu = b.add_customer("bluefin_eu", "Bluefin Labs (EU)", "eu.bluefinlabs.example", 510,
                        ("eu-west-prod", "eu-central-dev"))
    people = staff(b, eu, 8, ops[0])
    owner = senior(b, people, b.ago(days=64))
    nb = b.add_workspace(
        eu, owner, "lab-notebooks", "gpu-pytorch", "eu-west-prod", b.ago(days=64),
        b.cycles(b.ago(days=64), b.ago(hours=1, minutes=40), True, owner["email"]),
        app_urls={"jupyter": "http://127.0.0.1:8888/lab?token=4f2a9c7e1b0d"},
    )
    b.case("launch_url_internal", nb)
    fleet(b, eu, people, 13, ("python-dev", "gpu-pytorch", "jupyter-ai"),
          ("eu-west-prod", "eu-central-dev"))
    view(b, people[0], eu, t - timedelta(days=29), t, b.ago(days=2, hours=5))

    cop = b.add_customer("copperleaf", "Copperleaf Energy", "copperleafenergy.example", 700,
                         ("eu-west-prod", "eu-central-dev", "us-east-prod"))
    people = staff(b, cop, 8, ops[2])
    # Console spells the item differently for this tenant: still the admin navigation
    people[1]["visible_navigation"] = [n.replace("Account setup", "Account Setup")
                                       for n in people[1]["visible_navigation"]]
    user = senior(b, people, b.ago(days=40))
    owner = user["email"]
    history = b.cycles(b.ago(days=40), b.ago(days=3), False, owner)
    b.add_workspace(cop, user, "grid-forecast-exp", "python-dev", "eu-west-prod",
                    b.ago(days=40), [*history, ("start", b.ago(hours=1), owner)],
                    final_status="canceled")
    user = senior(b, people, b.ago(days=70))
    owner = user["email"]
    history = b.cycles(b.ago(days=70), b.ago(hours=3), True, owner)
    b.add_workspace(cop, user, "meter-ingest-dev", "go-service", "eu-central-dev",
                    b.ago(days=70), [*history, ("stop", b.ago(minutes=1), owner)],
                    final_status="running")
    fleet(b, cop, people, 11, ("python-dev", "go-service", "gpu-pytorch", "node-web"),
          ("eu-west-prod", "eu-central-dev", "us-east-prod"))
    view(b, people[1], cop, t - timedelta(days=89), t, b.ago(days=4, hours=2))


def _northwind(b: DemoBuilder, ops: list[Obj]) -> None:
    cust = b.add_customer("northwind", "Northwind Health", "northwindhealth.example", 380,
                          ("eu-west-prod", "us-west-gpu", "eu-central-dev"))
    people = staff(b, cust, 9, ops[1], founder=("Grace", "Whitfield"))
    grace = people[0]
    b.tokens["demo-admin"] = grace
    tom = b.add_user(cust, "Tom", "Becker", MEMBER, b.ago(days=61), invited_by=grace,
                     last_sign_in=b.ago(hours=1, minutes=4))
    b.tokens["demo-member"] = tom
    view(b, tom, cust, b.today - timedelta(days=29), b.today, b.ago(minutes=52), "denied")
    b.case("member_analytics_expected", tom)
    # IT moved Priya to the IdP's admin group, but Console maps only the old group name.
    priya = b.add_user(cust, "Priya", "Raman", MEMBER, b.ago(days=6), idp_role=ADMIN,
                       last_sign_in=b.ago(minutes=35), invited_by=grace)
    b.case("role_not_mapped", priya)
    dana = b.add_user(cust, "Dana", "Okafor", MEMBER, b.ago(days=3), invited_by=grace,
                      provisioning_failed=cat.PROVISIONING_FAILURE)
    gpu = b.targets["us-west-gpu"]
    blocked(b, cust, people[2], "ml-training-gpu", "gpu-pytorch", "us-west-gpu",
            b.ago(days=1, hours=3), "target_unavailable", target_name=gpu["name"],
            reason=gpu["state_reason"])
    blocked(b, cust, people[4], "claims-batch-java", "java-legacy", "eu-west-prod",
            b.ago(hours=4), "template_alias_unavailable", alias="java-legacy",
            state=b.aliases["java-legacy"]["state"])
    blocked(b, cust, dana, "genomics-notebook", "python-dev", "eu-west-prod",
            b.ago(days=2, hours=20), "user_provisioning_failed", email=dana["email"],
            reason=cat.PROVISIONING_FAILURE)
    owner = senior(b, people, b.ago(days=45))
    internal = b.add_workspace(
        cust, owner, "claims-api-dev", "python-dev", "eu-west-prod", b.ago(days=45),
        b.cycles(b.ago(days=45), b.ago(hours=2, minutes=30), True, owner["email"]),
        app_urls={"code-server": "http://10.12.4.7:8080/?folder=/home/coder&token=s3cr3t-session"},
    )
    b.case("launch_url_internal", internal)
    owner = senior(b, people, b.ago(days=40))
    history = b.cycles(b.ago(days=40), b.ago(days=1, hours=14, minutes=20), False, owner["email"])
    failed = b.add_workspace(
        cust, owner, "imaging-pipeline", "python-dev", "eu-west-prod", b.ago(days=40),
        [*history, ("start", b.ago(minutes=38), owner["email"])],
        failure=("volume attach", VOLUME_ERROR, demo_logs.VOLUME_ATTACH_FAILURE),
    )
    b.case("provisioning_failed", failed)
    b.case("fails_next_build", failed)
    fleet(b, cust, [*people, tom], 15, ("python-dev", "node-web", "gpu-pytorch", "go-service"),
          ("eu-west-prod", "eu-central-dev"))
    used = b.add_invite(cust, "nina.haddad@northwindhealth.example", MEMBER, b.ago(days=2),
                        "consumed", grace, consumed_at=b.ago(days=1, hours=2))
    b.case("invite_consumed", used)
    again = b.add_invite(cust, "oskar.larsen@northwindhealth.example", MEMBER, b.ago(days=3),
                         "pending", grace)
    b.add_invite(cust, "oskar.larsen@northwindhealth.example", MEMBER, b.ago(days=9), "revoked",
                 grace, changed_at=b.ago(days=3), replaced_by=again)
    view(b, grace, cust, b.today - timedelta(days=29), b.today, b.ago(days=2, hours=1))


def _billing_stories(b: DemoBuilder, ops: list[Obj]) -> None:
    """Customer-wide billing and setup blockers, one customer each."""
    kes = b.add_customer("kestrel", "Kestrel Freight", "kestrelfreight.example", 9,
                         ("us-east-prod",), approval="pending", prepaid_hours=100)
    people = staff(b, kes, 3, ops[0])
    blocked(b, kes, people[1], "route-optimizer-dev", "python-dev", "us-east-prod",
            b.ago(days=1, hours=5), "billing_approval_missing", approval="pending")

    ran_out = b.ago(days=2, hours=6)
    tide = b.add_customer("tidewater", "Tidewater Games", "tidewatergames.example", 300,
                          ("us-east-prod", "eu-west-prod"), prepaid_hours=0,
                          billing_changed=ran_out)
    people = staff(b, tide, 6, ops[2])
    # an admin whose last sign-in predates the admin items: the navigation lacks them
    people[0]["visible_navigation"] = [n for n in people[0]["visible_navigation"]
                                       if n not in ("Account setup", "Analytics")]
    b.case("navigation_stale", people[0])
    blocked(b, tide, people[2], "level-editor-dev", "node-web", "us-east-prod",
            b.ago(hours=20), "prepaid_balance_missing")
    fleet(b, tide, people, 8, ("node-web", "python-dev", "go-service"),
          ("us-east-prod", "eu-west-prod"),
          stopped=(ran_out, ran_out + timedelta(minutes=12)), autostop=True)

    spent = b.ago(days=3, hours=4)
    lumen = b.add_customer("lumen", "Lumen Studio", "lumenstudio.example", 260,
                           ("eu-west-prod", "us-east-prod"), ai_credit=0, billing_changed=spent)
    people = staff(b, lumen, 6, ops[1])
    owner = senior(b, people, b.ago(days=58))
    b.add_workspace(lumen, owner, "brand-voice-ai", "jupyter-ai", "eu-west-prod", b.ago(days=58),
                    [*b.cycles(b.ago(days=58), spent, False, owner["email"])[:-1],
                     ("stop", spent, None)])
    blocked(b, lumen, people[3], "copy-assistant-ai", "jupyter-ai", "eu-west-prod",
            b.ago(hours=6), "ai_credit_missing", alias="jupyter-ai")
    fleet(b, lumen, people, 8, ("python-dev", "node-web"), ("eu-west-prod", "us-east-prod"))
    used = b.add_invite(lumen, "felix.moreau@lumenstudio.example", MEMBER, b.ago(days=4),
                        "consumed", people[0], consumed_at=b.ago(days=3, hours=22))
    b.case("invite_consumed", used)

    harbor = b.add_customer("harbor", "Harbor Legal", "harborlegal.example", 12,
                            ("eu-west-prod",), sso="incomplete",
                            missing_steps=cat.SSO_MISSING_STEPS)
    people = staff(b, harbor, 3, ops[0])
    blocked(b, harbor, people[0], "contracts-search-dev", "python-dev", "eu-west-prod",
            b.ago(days=1), "sso_incomplete", steps="; ".join(cat.SSO_MISSING_STEPS).lower())
    for email, sent in (("esther.walsh@harborlegal.example", 10.5),
                        ("hugo.santos@harborlegal.example", 10.2)):
        lapsed = b.add_invite(harbor, email, MEMBER, b.ago(days=sent), "expired", people[0])
        b.case("invite_expired", lapsed)
    b.add_invite(harbor, "leila.kaur@harborlegal.example", MEMBER, b.ago(hours=30), "pending",
                 people[0])


def _analytics_stories(b: DemoBuilder, ops: list[Obj]) -> None:
    """Five customers whose admin saw empty analytics, each for a different reason."""
    t = b.today
    blue = b.add_customer("bluefin", "Bluefin Labs", "bluefinlabs.example", 25, ("us-east-prod",))
    people = staff(b, blue, 3, ops[0])
    # Views end on the last reconciled day, so only the story's own signal is in range.
    done = b.last_reconciled_day()
    view(b, people[0], blue, done - timedelta(days=29), done, b.ago(hours=3), "empty")
    b.case("analytics_empty:scope", blue)

    orchard = b.add_customer("orchard", "Orchard Analytics", "orchardanalytics.example", 600,
                             ("us-east-prod", "eu-west-prod"))
    people = staff(b, orchard, 7, ops[1])
    fleet(b, orchard, people, 10, ("python-dev", "jupyter-ai", "go-service"),
          ("us-east-prod", "eu-west-prod"))
    first = date(t.year - 1, t.month, 1)  # this month, but last year
    last = (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    view(b, people[0], orchard, first, last, b.ago(hours=2), "empty")
    b.case("analytics_empty:period", orchard)

    pine = b.add_customer("pinecrest", "Pinecrest Media", "pinecrestmedia.example", 340,
                          ("eu-west-prod", "ap-southeast-prod"))
    people = staff(b, pine, 6, ops[2])
    fleet(b, pine, people, 9, ("node-web", "python-dev"), ("eu-west-prod", "ap-southeast-prod"))
    days = [t - timedelta(days=n) for n in (8, 7, 6, 5)]
    b.usage_gaps["pinecrest"] = set(days)
    for d, state in zip(days, ("failed", "failed", "pending", "pending"), strict=True):
        b.period_overrides[("pinecrest", d)] = (state, b.at(d + timedelta(days=1), 4))
    view(b, people[0], pine, days[0], days[-1], b.ago(hours=20), "empty")
    b.case("analytics_empty:reconciliation", pine)

    granite = b.add_customer("granite", "Granite Civil", "granitecivil.example", 450,
                             ("us-east-prod",))
    people = staff(b, granite, 5, ops[0])
    fleet(b, granite, people, 7, ("python-dev", "go-service"), ("us-east-prod",),
          stopped=(b.ago(days=27), b.ago(days=22)))
    view(b, people[0], granite, done - timedelta(days=13), done, b.ago(hours=5), "empty")
    b.case("analytics_empty:not_running", granite)

    saffron = b.add_customer("saffron", "Saffron Retail", "saffronretail.example", 230,
                             ("ap-southeast-prod", "us-east-prod"))
    people = staff(b, saffron, 6, ops[1])
    fleet(b, saffron, people, 9, ("node-web", "python-dev", "go-service"),
          ("ap-southeast-prod", "us-east-prod"))
    recent = [t - timedelta(days=1), t]
    b.usage_gaps["saffron"] = set(recent)
    for d in recent:
        b.period_overrides[("saffron", d)] = ("delayed", b.ago(hours=20))
    view(b, people[0], saffron, recent[0], t, b.ago(minutes=25), "empty")
    b.case("analytics_empty:provider_delay", saffron)

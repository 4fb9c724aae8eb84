"""The console: a Textual app over the local cache, synced in the background.

Screens read the cache through ``storage.queries`` and the triage, actions and analytics
services; nothing here speaks HTTP itself. Every string from the API is rendered as plain text.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.command import Hit, Hits, Provider
from textual.content import Content
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer, TabbedContent, TabPane

from ism_tui.api.job_status import ACTIVE_JOB_STATUSES
from ism_tui.redact import scrub
from ism_tui.services import Services, freshness_summary, humanize_age, oldest_success
from screens.entities import AccountsPane, InvitesPane, WorkspacesPane
from screens.header import StatusHeader, who_text
from screens.lazy import LazyPane
from screens.list_pane import ListPane
from screens.literal import plain, toast
from screens.triage import TriagePane

if TYPE_CHECKING:
    from textual.notifications import SeverityLevel

    from ism_tui.sync import SyncProgress
    from ism_tui.triage.trail import Changes
    from screens.analytics import AnalyticsPane

Clock = Callable[[], datetime]
TABS = ("triage", "accounts", "invites", "workspaces", "analytics")
SYNC_CELL = 40  # cells of the header's sync progress (fits "⟳ syncing workspaces · 1,234,567 rows")


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _queue_news(changes: Changes | None) -> str:
    """``; blockers: 2 new, 1 resolved`` (empty when the queue did not change)."""
    if changes is None or changes.empty or changes.baseline:
        return ""
    parts = [f"{len(rows)} {word}" for rows, word in (
        (changes.appeared, "new"), (changes.reopened, "reopened"), (changes.worse, "worse"),
        (changes.resolved, "resolved")) if rows]
    return "; blockers: " + ", ".join(parts)


class GoToProvider(Provider):
    """Command palette: "go to" any customer, user or workspace by name, email or id."""

    async def search(self, query: str) -> Hits:
        app = self.app
        if not isinstance(app, ISMApp) or len(query.strip()) < 2:
            return
        from storage.queries import search_subjects

        matcher = self.matcher(query)
        rows = await asyncio.to_thread(search_subjects, app.services.cache, query, 30)
        for row in rows:
            label = plain(f"{row['kind']}: {row['label']}", 80)
            # the second line in the prompt: Textual parses a Hit's ``help`` string as markup
            prompt = Content.from_markup("$label\n[dim not bold]$help", label=label,
                                         help=plain(f"{row['id']} {row.get('extra') or ''}", 80))
            yield Hit(matcher.match(label) or 0.1, prompt,
                      partial(app.go_to, row["kind"], row["id"]), text=label)


class ISMApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "ism-tui"
    COMMANDS = App.COMMANDS | {GoToProvider}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("1", "tab('triage')", "Triage", show=False),
        Binding("2", "tab('accounts')", "Accounts", show=False),
        Binding("3", "tab('invites')", "Invites", show=False),
        Binding("4", "tab('workspaces')", "Workspaces", show=False),
        Binding("5", "tab('analytics')", "Analytics", show=False),
        Binding("r", "sync", "Sync"),
        Binding("A", "audit", "Audit", show=False),
        Binding("question_mark", "help", "Help"),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(self, services: Services, *, clock: Clock | None = None,
                 sync_on_start: bool = True, initial_tab: str = "triage") -> None:
        super().__init__()
        if initial_tab not in TABS:
            raise ValueError(f"unknown tab {initial_tab!r}; choose one of {', '.join(TABS)}")
        self.initial_tab = initial_tab
        self.services = services
        self.clock: Clock = clock or _utc_now
        self.sync_on_start = sync_on_start
        self.syncing = False
        self.last_sync_error: str | None = None
        self._actions: Any = None
        self.trail = services.trail(self.clock)
        # when the lead's previous session ended ("since my last session"), set on mount
        self.session_boundary: str | None = None

    def notify(self, message: str, *, title: str = "", severity: SeverityLevel = "information",
               timeout: float | None = None, markup: bool = True) -> None:
        """Every toast of the console (screens' ``notify`` comes here too) passes the
        redactor: its text may quote an error body or a server message. What the redactor
        changed is shown literally (``[redacted]`` is not markup)."""
        text, heading = scrub(str(message)), scrub(title)
        markup = markup and (text, heading) == (message, title)
        super().notify(text, title=heading, severity=severity, timeout=timeout, markup=markup)

    def _fatal_error(self) -> None:
        """A crash ends the console with its traceback, as Textual does, but without the
        frames' local variables (Textual shows them: they hold the token and API data) and
        through the redactor, since the traceback lands on a terminal and in bug reports."""
        import sys
        import traceback

        if sys.exc_info()[1] is None:
            super()._fatal_error()
            return
        self.bell()
        self._exit_renderables.append(Text(scrub(traceback.format_exc(), 50_000)))
        self._close_messages_no_wait()

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        engine = self.services.cache  # the tables read without SQLAlchemy
        panes: dict[str, tuple[str, Callable[[], Widget]]] = {
            "triage": ("1 Triage", lambda: TriagePane(engine, self.trail)),
            "accounts": ("2 Accounts", lambda: AccountsPane(engine)),
            "invites": ("3 Invites", lambda: InvitesPane(engine)),
            "workspaces": ("4 Workspaces", lambda: WorkspacesPane(engine)),
            "analytics": ("5 Analytics", self._analytics_pane),
        }
        yield StatusHeader(id="header")
        with TabbedContent(id="tabs", initial=f"tab-{self.initial_tab}"):
            for tab, (title, make) in panes.items():
                with TabPane(title, id=f"tab-{tab}"):
                    # the hidden tabs are built just after the first paint, so the shown
                    # one paints sooner
                    yield make() if tab == self.initial_tab else LazyPane(make)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        if not self.is_headless:
            from ism_tui.hangup import watch_terminal

            watch_terminal()  # leave, rather than spin, when the SSH link or tmux goes away
        self.session_boundary = self.trail.start_session()
        self.refresh_header()
        self.set_interval(30, self.refresh_header)
        self.call_after_refresh(self._focus_active)
        self.call_after_refresh(self._after_first_paint)

    def _after_first_paint(self) -> None:
        """The config validated in full (if the console opened before: ``open_services``),
        then the syncs it asks for; their imports (httpx, SQLAlchemy) would hold up the
        first paint."""
        from ism_tui.config_light import ConfigError

        try:
            profile = self.services.settings.settings
        except ConfigError as exc:
            self.exit(return_code=3, message=Text(f"ism-tui: {exc}"))
            return
        if profile.sync_interval:
            self.set_interval(profile.sync_interval, self.action_sync)
        if self.sync_on_start and self._stale():
            self.action_sync()
        elif oldest_success(self.services.cache) is not None:
            self.catch_up_trail()
        # What is alive now lives as long as the console. A full collection walking it all
        # (every few hundred keystrokes, 50-130 ms at 100k workspaces) would land on a key;
        # frozen, the collector walks only what came after. (No gc.collect() first: it would
        # cost more than the little start-up garbage it would spare from the freeze.)
        gc.freeze()

    def on_unmount(self) -> None:
        gc.unfreeze()  # a process that opens another console (the tests) can collect this one

    @work(thread=True, group="trail", exit_on_error=False)
    def catch_up_trail(self) -> None:
        """The trail learns what a sync it did not see (another process's) changed."""
        changes = self._record_sync()
        if changes is not None and not changes.empty:
            self.call_from_thread(self._reload_triage)

    def _stale(self) -> bool:
        when = oldest_success(self.services.cache)
        if when is None:
            return True
        age = (self.clock() - when).total_seconds()
        return age > self.services.settings.settings.stale_after

    # ------------------------------------------------------------------ header

    def refresh_header(self) -> None:
        header = self.query_one(StatusHeader)
        header.show_who(who_text(self.services.profile, self.services.who(),
                                 self.services.read_only))
        if self.syncing:
            return
        when = oldest_success(self.services.cache)
        if self.last_sync_error and when is None:
            header.show_sync("offline: showing cache (sync failed) ", "bold yellow")
        elif self.last_sync_error and when is not None:
            header.show_sync(f"offline: showing cache from {when:%H:%M} ", "bold yellow")
        elif when is None:
            header.show_sync("not synced yet: press r ", "bold yellow")
        else:
            age = humanize_age((self.clock() - when).total_seconds())
            style = "yellow" if self._stale() else "green"
            header.show_sync(f"synced {age} ", style)

    # ------------------------------------------------------------------ tabs and navigation

    def action_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = f"tab-{tab}"
        self._focus_tab(tab)

    def _analytics_pane(self) -> Widget:
        from screens.analytics import AnalyticsPane

        return AnalyticsPane(self.services.engine, self.clock)

    def _analytics(self) -> AnalyticsPane | None:
        """The Analytics tab's pane, or None in the moment before it is built."""
        from screens.analytics import AnalyticsPane

        return next(iter(self.query(AnalyticsPane)), None)

    def _pick_analytics(self, what: str) -> None:
        if analytics := self._analytics():
            (analytics.action_pick_period if what == "period" else analytics.action_pick_scope)()

    def _focus_active(self) -> None:
        """Focus the showing tab's table or pane (not the one the console opened on, if the
        operator has already moved on)."""
        active = self.query_one(TabbedContent).active
        if active:
            self._focus_tab(active.removeprefix("tab-"))

    def on_lazy_pane_built(self, event: LazyPane.Built) -> None:
        """A hidden tab's content is built: if the operator switched to it in the instant
        before, focus it now."""
        tab = self.query_one(TabbedContent).active_pane
        if tab is not None and event.widget in tab.children:
            self._focus_active()

    def _focus_tab(self, tab: str) -> None:
        pane = self.query_one(f"TabPane#tab-{tab}", TabPane)
        if pane.query(LazyPane):  # not built yet: on_lazy_pane_built focuses it
            return
        if tab == "accounts":
            pane.query_one(AccountsPane).focus_table()
        elif tab == "analytics":
            if analytics := self._analytics():
                analytics.focus()
        else:
            pane.query_one(ListPane).table.focus()

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        if event.pane.id:
            self._focus_tab(event.pane.id.removeprefix("tab-"))

    async def go_to(self, kind: str, subject_id: str) -> None:
        """Show one customer, user or workspace: its tab, filtered to it, detail open."""
        tab = {"customer": "accounts", "user": "accounts", "workspace": "workspaces",
               "invite": "invites"}[kind]
        self.action_tab(tab)
        if tab == "accounts":
            accounts = self.query_one(AccountsPane)
            accounts.action_show("customers" if kind == "customer" else "users")
            pane = accounts.current
        else:
            pane = self.query_one(f"#{tab}", ListPane)
        await pane.show_filter(subject_id)
        pane.table.focus()
        pane.table.select_when_counted()

    def reload_all(self) -> None:
        for pane in self.query(ListPane):
            pane.reload()
        if analytics := self._analytics():
            analytics.reload()
        self.refresh_header()

    # ------------------------------------------------------------------ sync

    def action_sync(self, full: bool = False) -> None:
        if self.syncing:
            toast(self, "A sync is already running.", timeout=2)
            return
        self.syncing = True
        self.run_sync_worker(full)

    @work(exclusive=True, group="sync", exit_on_error=False)
    async def run_sync_worker(self, full: bool = False) -> None:
        """The sync runs in a child process (``sync_child``): this loop only shows its
        progress, so keys repaint while it fetches, decodes and writes."""
        from ism_tui.sync_child import sync_in_child

        header = self.query_one(StatusHeader)
        done: dict[str, int] = {}

        def progress(p: SyncProgress) -> None:
            done[p.resource] = p.rows
            total = sum(done.values())
            # one width for the whole sync: a wider cell would lay out the screen again
            header.show_sync(f"⟳ syncing {p.resource} · {total:,} rows ".rjust(SYNC_CELL),
                             "bold cyan")

        header.show_sync("⟳ syncing… ".rjust(SYNC_CELL), "bold cyan")
        try:
            report = await sync_in_child(self.services, full=full, progress=progress)
        finally:
            self.syncing = False
        # a failed sync may have left the blockers half recomputed: compared next time
        changes = await asyncio.to_thread(self._record_sync) if not report["errors"] else None
        self.show_sync_report(report, changes)
        if any(r["resource"] in ("usage", "usage_periods") and r["changed"] != 0
               for r in report["resources"]):
            await asyncio.to_thread(self._warm_analytics)

    def show_sync_report(self, report: dict[str, Any], changes: Changes | None = None) -> None:
        """The screens reloaded, and a sync's outcome told (``SyncReport.to_json``) with what
        it changed in the triage queue."""
        errors: list[str] = report["errors"]
        self.last_sync_error = errors[0] if errors else None
        self.reload_all()
        if errors:
            more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
            toast(self, f"Sync failed: {plain(errors[0], 300)}{more}. The screens show the cache.",
                  severity="error", timeout=10)
            return
        changed = sum(r["rows"] + r["deleted"] if r["changed"] is None else r["changed"]
                      for r in report["resources"])
        toast(self, f"Synced in {report['seconds']:.1f} s: {changed:,} rows changed"
                    f"{_queue_news(changes)}.", timeout=3)
        left_out = [problem for r in report["resources"] for problem in r["rejected"]]
        if left_out:
            more = f" (+{len(left_out) - 1} more)" if len(left_out) > 1 else ""
            toast(self, f"Left out of the cache: {left_out[0]}{more}", severity="warning",
                  timeout=10)
        if changes is not None:
            self._alert(changes)

    def _record_sync(self) -> Changes | None:
        """What the sync changed in the queue, recorded in the lead's trail (in a thread;
        None when the trail cannot be written now: the next sync compares again)."""
        import sqlite3

        from storage.trail import TrailError

        try:
            return self.trail.record_cache(self.services.cache)
        except (sqlite3.Error, TrailError) as exc:
            self.call_from_thread(toast, self, f"The triage trail was not updated: {exc}",
                                  severity="warning")
            return None

    def _alert(self, changes: Changes) -> None:
        """A toast (and the bell, if configured) for new critical blockers; focus stays."""
        critical = changes.critical
        if not critical:
            return
        first = plain(critical[0]["summary"] or critical[0]["blocker_id"], 120)
        more = f" (+{len(critical) - 1} more)" if len(critical) > 1 else ""
        toast(self, f"New critical blocker: {first}{more}", title="Triage", severity="error",
              timeout=15)
        if self.services.settings.settings.bell_on_critical:
            self.bell()

    def _reload_triage(self) -> None:
        for pane in self.query(TriagePane):
            pane.reload()

    def write_handover(self) -> None:
        """The session's handover (Markdown and JSON, 0600) in the export directory."""
        from ism_tui.triage.handover import build_report, save
        from storage.triage_io import blocker_heads

        last = self.trail.store.last_session()
        since = None if last is None else str(last["started_at"])
        report = build_report(self.trail, blocker_heads(self.services.cache), since,
                              freshness_summary(self.services.cache, now=self.clock()))
        stem = f"handover-{self.clock().strftime('%Y%m%dT%H%M%SZ')}.md"
        try:
            markdown, data = save(report, self.services.settings.export_dir / stem)
        except OSError as exc:
            toast(self, f"Cannot write the handover: {exc}", severity="error")
            return
        toast(self, f"Handover written to {markdown} and {data.name}.", timeout=6)

    def _warm_analytics(self) -> None:
        """Rank the preset periods now so the Analytics tab's first view costs milliseconds."""
        from ism_tui.analytics.service import AnalyticsService

        AnalyticsService(self.services.engine, clock=self.clock).prepare()

    # ------------------------------------------------------------------ exports

    def save_and_copy(self, text: str, stem: str) -> None:
        """Write Markdown to the export directory (0600) and copy it via OSC 52."""
        from ism_tui.private_files import export_path, write_private

        stamped = f"{stem}-{self.clock().strftime('%Y%m%dT%H%M%SZ')}"
        try:
            path = export_path(self.services.settings.export_dir, stamped, "md")
            write_private(path, text)
        except OSError as exc:
            toast(self, f"Cannot write the escalation: {exc}", severity="error")
            return
        self.copy_to_clipboard(text)
        toast(self, f"Escalation written to {path} and copied to the clipboard.", timeout=6)

    def export_escalation(self, blockers: list[Any], stem: str) -> None:
        from ism_tui.triage.export import to_markdown
        from ism_tui.triage.store import routed

        if not blockers:
            toast(self, "Nothing to export.", severity="warning")
            return
        blockers = routed(self.services.cache, blockers, read_only=self.services.read_only)
        fresh = freshness_summary(self.services.cache, now=self.clock())
        self.save_and_copy(to_markdown(blockers, freshness=fresh, exported_at=self.clock()),
                           stem)

    def escalate_subject(self, kind: str, subject_id: str) -> None:
        """Export the escalations of a user, workspace or customer: its blockers, or an ad-hoc
        one of the matching playbook case (someone phoned in without a blocker)."""
        from ism_tui.triage.export import escalating
        from ism_tui.triage.store import SubjectNotFound, routed, subject_escalations

        try:
            blockers = subject_escalations(self.services.cache, kind, subject_id,
                                           reported_by=self._reporter())
        except SubjectNotFound as exc:
            toast(self, exc, severity="warning")
            return
        if kind == "customer":
            blockers = escalating(routed(self.services.cache, blockers))
            if not blockers:
                toast(self, "Nothing of this customer escalates: see who acts next.",
                      severity="information")
                return
        self.export_escalation(blockers, f"escalation-{kind}-{subject_id}")

    def _reporter(self) -> str:
        who = self.services.who()
        return who.email if who is not None else ""

    # ------------------------------------------------------------------ actions

    @property
    def actions(self) -> Any:
        if self._actions is None:
            from ism_tui.actions.service import ActionService

            self._actions = ActionService(self.services, clock=self.clock)
        return self._actions

    def open_actions(self, kind: str, subject_id: str) -> None:
        from ism_tui.actions.service import ActionError
        from screens.actions import ActionMenu

        try:
            choices = self.actions.available(kind, subject_id)
        except ActionError as exc:
            toast(self, exc, severity="error")
            return
        if not choices:
            toast(self, "This row is no longer in the cache.", severity="warning")
            return
        items = [(name, d.allowed, d.reason) for name, d in choices]
        status = None
        if kind == "workspace":
            from storage.queries import workspace_detail

            row = workspace_detail(self.services.cache, subject_id)
            status = row["status"] if row else None
        self.push_screen(ActionMenu(f"Actions on {kind} {subject_id}", items, status),
                         partial(self._action_chosen, subject_id))

    def _action_chosen(self, subject_id: str, action: str | None) -> None:
        from screens.actions import ConfirmAction

        if action is None:
            return
        plan = self.actions.plan_for(action, subject_id)
        if not plan.allowed:
            outcome = self.actions.refuse(plan)
            toast(self, outcome.message, severity="warning", timeout=8)
            return
        self.push_screen(ConfirmAction(plan), partial(self._confirmed, plan))

    def _confirmed(self, plan: Any, typed: str | None) -> None:
        if typed is None:
            outcome = self.actions.cancel(plan)
            toast(self, outcome.message, timeout=4)
            return
        self.execute_action(plan, typed)

    @work(group="actions", exit_on_error=False)
    async def execute_action(self, plan: Any, typed: str) -> None:
        header = self.query_one(StatusHeader)
        me = self.services.me()
        who = me.email if me else "unknown"

        def progress(message: str) -> None:
            header.show_sync(f"⟳ {plain(message, 60)} ", "bold cyan")

        outcome = await self.actions.execute(plan, who, typed_name=typed or None,
                                             progress=progress)
        self.reload_all()
        toast(self, outcome.message, severity="information" if outcome.ok else "error",
              timeout=8)

    def open_build_logs(self, workspace_id: str) -> None:
        from screens.build_logs import BuildLogScreen
        from storage.queries import workspace_detail

        row = workspace_detail(self.services.cache, workspace_id)
        if row is None or not row.get("build_id"):
            toast(self, "This workspace has no build in the cache.", severity="warning")
            return
        running = row.get("build_job_status") in ACTIVE_JOB_STATUSES
        title = f"Build logs: {plain(row['name'], 40)} build #{row.get('build_number') or '?'}"
        self.push_screen(BuildLogScreen(self.services.engine, row["build_id"], title, running))

    # ------------------------------------------------------------------ help and palette

    def action_audit(self) -> None:
        from screens.audit import AuditScreen

        self.push_screen(AuditScreen(self.services.engine))

    def action_help(self) -> None:
        from screens.help import HelpScreen

        self.push_screen(HelpScreen())

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for n, tab in enumerate(TABS, 1):
            yield SystemCommand(f"Show {tab.title()}", f"Switch to the {tab} tab (key {n})",
                                partial(self.action_tab, tab))
        yield SystemCommand("Sync now", "Fetch changes from the Console (key r)",
                            self.action_sync)
        yield SystemCommand("Export escalation", "Triage: export the selected blocker (key e)",
                            lambda: self.query_one(TriagePane).action_export())
        yield SystemCommand("What changed", "Triage: since your last session, and what the "
                            "Console resolved (key v)",
                            lambda: self.query_one(TriagePane).action_changes())
        yield SystemCommand("Handover report", "Triage: write the session summary, Markdown + "
                            "JSON (key H)", self.write_handover)
        yield SystemCommand("Workspace actions", "Actions on the selected workspace (key a)",
                            lambda: self.query_one(WorkspacesPane).action_actions())
        yield SystemCommand("Invite actions", "Reissue the selected invite (key a)",
                            lambda: self.query_one(InvitesPane).action_actions())
        yield SystemCommand("Build logs", "Logs of the selected workspace's build (key l)",
                            lambda: self.query_one(WorkspacesPane).action_logs())
        yield SystemCommand("Analytics period", "Pick the analytics period (key p)",
                            partial(self._pick_analytics, "period"))
        yield SystemCommand("Analytics customer", "Pick the analytics scope (key c)",
                            partial(self._pick_analytics, "scope"))
        yield SystemCommand("Audit trail", "Every action attempt, newest first (key A)",
                            self.action_audit)
        yield SystemCommand("Keys", "Every key binding (key ?)", self.action_help)

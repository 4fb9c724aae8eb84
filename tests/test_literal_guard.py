"""A static guard on the rendering rule (screens/literal.py): text reaches a toast only through
``toast`` and a title only as a literal, ``plain``/``literal`` or ``Text``/``Content``, so a
new call site cannot put API text on the terminal as markup."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TITLES = {"title", "sub_title", "border_title", "border_subtitle"}
SAFE_CALLS = {"plain", "literal", "Text", "Content"}


def _safe_title(value: ast.expr) -> bool:
    if isinstance(value, ast.Constant) and isinstance(value.value, str):
        return True
    if not isinstance(value, ast.Call):
        return False
    func = value.func
    if isinstance(func, ast.Name):
        return func.id in SAFE_CALLS
    # Text.assemble(...), Content.styled(...); from_markup only with our own markup
    return (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)
            and func.value.id in {"Text", "Content"}
            and (func.attr != "from_markup"
                 or (bool(value.args) and isinstance(value.args[0], ast.Constant))))


def _is_super(node: ast.expr) -> bool:
    """``super().notify``: the app's own ``notify`` override handing on to Textual."""
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id == "super")


def violations(source: str, where: str) -> list[str]:
    """``where:line: what`` for each toast or title in ``source`` that may take raw text."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source, where)):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == "notify" and not _is_super(node.func.value)
                and where != "screens/literal.py"):
            found.append((node.lineno, ".notify( outside toast()"))
        targets = (node.targets if isinstance(node, ast.Assign)
                   else [node.target] if isinstance(node, ast.AugAssign | ast.AnnAssign) else [])
        for target in targets:
            if (isinstance(target, ast.Attribute) and target.attr in TITLES
                    and (isinstance(node, ast.AugAssign) or node.value is None
                         or not _safe_title(node.value))):
                found.append((node.lineno, f".{target.attr} = text that may be markup"))
    return [f"{where}:{line}: {what}" for line, what in sorted(found)]


def test_toasts_and_titles_never_take_raw_text() -> None:
    modules = sorted([*ROOT.glob("screens/**/*.py"), *ROOT.glob("ism_tui/**/*.py")])
    assert ROOT / "ism_tui" / "app.py" in modules and len(modules) > 40
    found = [v for path in modules
             for v in violations(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))]
    if found:
        pytest.fail("toasts or titles that may take raw text:\n" + "\n".join(found))


def test_the_guard_names_each_raw_toast_and_title() -> None:
    source = ("self.app.notify(name)\n"
              "box.border_title = f'Logs: {name}'\n"
              "self.sub_title = Text.from_markup(name)\n"
              "self.title += name\n"
              "box.border_title = literal(name, 70)\n"
              "box.border_subtitle = Content.from_markup('[b]$n[/b]', n=name)\n"
              "box.title = 'Keys'\n"
              "super().notify(text, markup=False)\n")
    found = violations(source, "screens/probe.py")
    assert [line.split(":")[1] for line in found] == ["1", "2", "3", "4"]
    assert found[0] == "screens/probe.py:1: .notify( outside toast()"

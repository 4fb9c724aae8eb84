"""ism-tui: a terminal console to run and triage ISM Console. Kept import-light on purpose."""

__version__ = "0.1.0"

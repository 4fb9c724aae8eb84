"""Config: profiles, env overrides, token sources, and errors that say what to fix."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ism_tui.config import ConfigError, load_settings

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("ISM_TUI_URL", "ISM_TUI_TOKEN", "ISM_TUI_PROFILE", "ISM_TUI_CACHE_DIR"):
        monkeypatch.delenv(key, raising=False)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_example_config_parses_with_every_profile() -> None:
    for name in ("prod", "staging", "demo"):
        s = load_settings(name, REPO / "config.example.toml")
        assert s.url and s.url.endswith("/api/v2")
    assert load_settings(None, REPO / "config.example.toml").profile == "prod"


def test_env_overrides_profile_and_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = write(tmp_path, '[profiles.a]\nurl = "https://a.example/api/v2"\n'
                          '[profiles.b]\nurl = "https://b.example/api/v2"\n')
    monkeypatch.setenv("ISM_TUI_PROFILE", "b")
    assert load_settings(None, cfg).url == "https://b.example/api/v2"
    monkeypatch.setenv("ISM_TUI_URL", "https://override.example/api/v2")
    monkeypatch.setenv("ISM_TUI_CACHE_DIR", str(tmp_path / "c"))
    s = load_settings(None, cfg)
    assert s.url == "https://override.example/api/v2"
    assert s.cache_path == tmp_path / "c" / "b.sqlite3"


def test_token_in_config_file_is_refused_with_where_to_put_it(tmp_path: Path) -> None:
    cfg = write(tmp_path, '[profiles.prod]\nurl = "https://x.example/api/v2"\ntoken = "s3cret"\n')
    with pytest.raises(ConfigError) as err:
        load_settings("prod", cfg)
    assert "profiles.prod.token" in str(err.value) and "ISM_TUI_TOKEN" in str(err.value)
    assert "s3cret" not in str(err.value)


def test_readable_token_file_is_refused_like_ssh(tmp_path: Path) -> None:
    token = tmp_path / "prod.token"
    token.write_text("tok-123\n")
    os.chmod(token, 0o644)
    cfg = write(tmp_path, f'[profiles.prod]\nurl = "https://x.example/api/v2"\n'
                          f'token_file = "{token}"\n')
    with pytest.raises(ConfigError, match=r"chmod 600"):
        load_settings("prod", cfg).require_connection()
    os.chmod(token, 0o600)
    s = load_settings("prod", cfg)
    assert s.token is not None and s.token.get_secret_value() == "tok-123"
    assert "tok-123" not in repr(s) and "tok-123" not in str(s.model_dump())


def test_bad_value_names_file_key_expected_and_found(tmp_path: Path) -> None:
    cfg = write(tmp_path, '[profiles.prod]\nurl = "https://x.example/api/v2"\npage_size = 9000\n')
    with pytest.raises(ConfigError) as err:
        load_settings("prod", cfg)
    msg = str(err.value)
    assert str(cfg) in msg and "profiles.prod.page_size" in msg and "9000" in msg
    assert "less than or equal to 5000" in msg


def test_unknown_key_and_bad_toml_are_explained(tmp_path: Path) -> None:
    cfg = write(tmp_path, '[profiles.prod]\nurll = "x"\n')
    with pytest.raises(ConfigError, match=r"unknown key 'profiles.prod.urll'"):
        load_settings("prod", cfg)
    cfg = write(tmp_path, '[profiles.prod\nurl = "x"\n')
    with pytest.raises(ConfigError, match=r"not valid TOML.*line 1"):
        load_settings("prod", cfg)


def test_bad_url_and_missing_profile_and_missing_file(tmp_path: Path) -> None:
    cfg = write(tmp_path, '[profiles.prod]\nurl = "console.example.com"\n')
    with pytest.raises(ConfigError, match=r"expected an http\(s\) URL"):
        load_settings("prod", cfg)
    with pytest.raises(ConfigError, match=r"known profiles are prod"):
        load_settings("staging", cfg)
    with pytest.raises(ConfigError, match=r"does not exist"):
        load_settings(None, tmp_path / "nope.toml")


def test_missing_url_or_token_says_what_to_set(tmp_path: Path) -> None:
    s = load_settings(None, None, cache_dir=tmp_path)
    with pytest.raises(ConfigError, match=r"ISM_TUI_URL"):
        s.require_connection()
    s = load_settings(None, None, url="http://127.0.0.1:1/api/v2", cache_dir=tmp_path)
    with pytest.raises(ConfigError, match=r"ISM_TUI_TOKEN"):
        s.require_connection()


def test_the_bell_for_new_critical_blockers_is_off_unless_asked(tmp_path: Path) -> None:
    assert load_settings("prod", REPO / "config.example.toml").settings.bell_on_critical is False
    cfg = write(tmp_path, '[profiles.p]\nurl = "https://x.example/api/v2"\n'
                          "bell_on_critical = true\n")
    assert load_settings("p", cfg).settings.bell_on_critical is True
    bad = write(tmp_path, '[profiles.p]\nurl = "https://x.example/api/v2"\n'
                          'bell_on_critical = "loud"\n')
    with pytest.raises(ConfigError, match="bell_on_critical"):
        load_settings("p", bad)

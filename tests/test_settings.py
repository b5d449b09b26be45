from __future__ import annotations

from ipaddress import ip_network
from pathlib import Path

import pytest

from openproctor.outbound import OutboundPolicy
from openproctor.settings import SettingsError, load_settings


def test_defaults_live_under_the_data_dir(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path)
    assert settings.resolved_database_url == f"sqlite:///{tmp_path.resolve()}/openproctor.db"
    assert settings.resolved_storage_url == (tmp_path.resolve() / "storage").as_uri()
    assert settings.redis_url == ""
    assert settings.secure_cookies is False


def test_development_secret_is_generated_once_and_kept(tmp_path: Path) -> None:
    first = load_settings(data_dir=tmp_path).secret_key
    second = load_settings(data_dir=tmp_path).secret_key
    assert first == second
    assert len(first) >= 32
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


def test_environment_variables_use_the_prefix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENPROCTOR_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("OPENPROCTOR_PUBLIC_URL", "https://exams.example.com")
    settings = load_settings()
    assert settings.data_dir == tmp_path
    assert settings.secure_cookies is True


def test_production_refuses_a_missing_secret(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="OPENPROCTOR_SECRET_KEY must be set"):
        load_settings(data_dir=tmp_path, env="production", public_url="https://x.example.com")


def test_production_accepts_a_real_secret(tmp_path: Path) -> None:
    settings = load_settings(
        data_dir=tmp_path,
        env="production",
        public_url="https://x.example.com",
        secret_key="k" * 40,
    )
    assert settings.secret_key == "k" * 40


def test_production_refuses_a_short_metrics_token(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="OPENPROCTOR_METRICS_TOKEN must be at least 32"):
        load_settings(
            data_dir=tmp_path,
            env="production",
            public_url="https://x.example.com",
            secret_key="k" * 40,
            metrics_token="short",
        )


def test_api_docs_are_off_in_production_unless_turned_on(tmp_path: Path) -> None:
    production = {"env": "production", "public_url": "https://x.example.com"}
    assert load_settings(data_dir=tmp_path).api_docs_served is True
    assert (
        load_settings(data_dir=tmp_path, secret_key="k" * 40, **production).api_docs_served is False
    )
    turned_on = load_settings(data_dir=tmp_path, secret_key="k" * 40, api_docs=True, **production)
    assert turned_on.api_docs_served is True


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("database_url", "mysql://x", "OPENPROCTOR_DATABASE_URL"),
        ("storage_url", "ftp://x", "OPENPROCTOR_STORAGE_URL"),
        ("redis_url", "http://x", "OPENPROCTOR_REDIS_URL"),
        ("env", "staging", "OPENPROCTOR_ENV"),
        ("max_body_bytes", 0, "OPENPROCTOR_MAX_BODY_BYTES"),
        ("header_timeout_s", 0, "OPENPROCTOR_HEADER_TIMEOUT_S"),
        ("body_timeout_s", -1, "OPENPROCTOR_BODY_TIMEOUT_S"),
        ("keepalive_timeout_s", 0, "OPENPROCTOR_KEEPALIVE_TIMEOUT_S"),
        ("max_connections", 0, "OPENPROCTOR_MAX_CONNECTIONS"),
        ("no_such_setting", 1, "OPENPROCTOR_NO_SUCH_SETTING"),
    ],
)
def test_invalid_settings_give_one_clear_message(
    tmp_path: Path, field: str, value: object, message: str
) -> None:
    with pytest.raises(SettingsError, match=message) as raised:
        load_settings(data_dir=tmp_path, **{field: value})
    assert str(raised.value).startswith("invalid settings: ")


def test_the_outbound_allow_list_is_read_from_one_comma_separated_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert load_settings(data_dir=tmp_path).outbound_policy == OutboundPolicy()
    monkeypatch.setenv("OPENPROCTOR_OUTBOUND_ALLOW", "Hooks.Internal., 10.20.0.0/16 [fd00::7]")
    policy = load_settings(data_dir=tmp_path).outbound_policy
    assert policy.allowed_hosts == {"hooks.internal"}
    assert policy.allowed_networks == (ip_network("10.20.0.0/16"), ip_network("fd00::7/128"))
    monkeypatch.setenv("OPENPROCTOR_OUTBOUND_ALLOW", "10.20.0.1/16")
    with pytest.raises(SettingsError, match=r"OPENPROCTOR_OUTBOUND_ALLOW: .*'10\.20\.0\.1/16'"):
        load_settings(data_dir=tmp_path)
    monkeypatch.setenv("OPENPROCTOR_OUTBOUND_ALLOW", "http://hooks.internal/")
    with pytest.raises(SettingsError, match="neither a host name nor an address or network"):
        load_settings(data_dir=tmp_path)


def test_trusted_proxies_are_read_from_one_comma_separated_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert load_settings(data_dir=tmp_path).trusted_proxies == ["127.0.0.1", "::1"]
    monkeypatch.setenv("OPENPROCTOR_TRUSTED_PROXIES", "10.0.0.5, 192.168.8.0/24 fd00::1")
    proxies = load_settings(data_dir=tmp_path).trusted_proxies
    assert proxies == ["10.0.0.5", "192.168.8.0/24", "fd00::1"]
    monkeypatch.setenv("OPENPROCTOR_TRUSTED_PROXIES", "10.0.0.5,proxy.internal")
    with pytest.raises(SettingsError, match=r"TRUSTED_PROXIES: .*'proxy\.internal' is not an"):
        load_settings(data_dir=tmp_path)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"public_url": "http://x.example.com"}, "OPENPROCTOR_PUBLIC_URL must be https://"),
        ({"public_url": "https://x.example.com", "secret_key": "short"}, "at least"),
    ],
)
def test_production_refuses_plain_http_and_a_short_secret(
    tmp_path: Path, overrides: dict[str, str], message: str
) -> None:
    settings = {"secret_key": "k" * 40, **overrides}
    with pytest.raises(SettingsError, match=message):
        load_settings(data_dir=tmp_path, env="production", **settings)

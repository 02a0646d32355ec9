"""Settings come from the environment and fail loudly on bad values."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from agileml.env import env_bool, env_int, env_list, env_origins, env_url

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("raw", "value"), [("1", True), ("yes", True), ("off", False), ("", False)])
def test_env_bool_reads_common_spellings(raw, value):
    assert env_bool("DEBUG", not value, environ={"DEBUG": raw}) is value


def test_env_bool_rejects_garbage():
    with pytest.raises(ImproperlyConfigured, match=r"DEBUG='maybe' is not a boolean"):
        env_bool("DEBUG", False, environ={"DEBUG": "maybe"})


def test_env_int_rejects_non_numbers_and_small_values():
    with pytest.raises(ImproperlyConfigured, match=r"UPLOAD_MAX_BYTES='10MB' is not an integer"):
        env_int("UPLOAD_MAX_BYTES", 1, environ={"UPLOAD_MAX_BYTES": "10MB"})
    with pytest.raises(ImproperlyConfigured, match="must be at least 1024"):
        env_int("UPLOAD_MAX_BYTES", 1, minimum=1024, environ={"UPLOAD_MAX_BYTES": "10"})
    assert env_int("UPLOAD_MAX_BYTES", 1, environ={"UPLOAD_MAX_BYTES": "1_000"}) == 1000


def test_env_list_rejects_empty_items():
    assert env_list("ALLOWED_HOSTS", [], environ={"ALLOWED_HOSTS": "a.com, b.com"}) == ["a.com", "b.com"]
    with pytest.raises(ImproperlyConfigured, match="empty item"):
        env_list("ALLOWED_HOSTS", [], environ={"ALLOWED_HOSTS": "a.com,,b.com"})


def test_env_origins_needs_scheme():
    with pytest.raises(ImproperlyConfigured, match="is not an origin"):
        env_origins("CSRF_TRUSTED_ORIGINS", [], environ={"CSRF_TRUSTED_ORIGINS": "agileml.example.com"})


def test_env_url_checks_scheme():
    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL='mysql://x' has scheme 'mysql'"):
        env_url("DATABASE_URL", "sqlite://", schemes={"sqlite", "postgres"}, environ={"DATABASE_URL": "mysql://x"})


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in {"SECRET_KEY", "DEBUG", "AGILEML_TESTING", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env={**base, **env}, capture_output=True, text=True, timeout=120
    )


def test_secret_key_is_required_without_debug():
    result = _manage("check")
    assert result.returncode == 2
    assert "SECRET_KEY is required when DEBUG is off" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DEBUG": "perhaps"}, "DEBUG='perhaps' is not a boolean"),
        ({"DATABASE_URL": "mysql://db/x"}, "DATABASE_URL='mysql://db/x' has scheme 'mysql'"),
        ({"CELERY_BROKER_URL": "kafka://x"}, "CELERY_BROKER_URL='kafka://x' has scheme 'kafka'"),
        ({"UPLOAD_MAX_BYTES": "big"}, "UPLOAD_MAX_BYTES='big' is not an integer"),
        ({"CSRF_TRUSTED_ORIGINS": "example.com"}, "is not an origin"),
    ],
)
def test_bad_values_stop_startup_with_a_clear_message(env, message):
    result = _manage("check", SECRET_KEY="x" * 60, **env)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_production_settings_pass_the_deploy_check():
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        SECRET_KEY="k9$Jq2!vR7wP#zL4mX8nB1cY6tH3sF5dG0aE^uI&oK*pQ(wT7yN2bV5cX8zA1sD4fG",
        DEBUG="0",
        HTTPS="1",
        ALLOWED_HOSTS="agileml.example.com",
        CSRF_TRUSTED_ORIGINS="https://agileml.example.com",
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


@pytest.mark.django_db
def test_sqlite_runs_in_wal_mode_with_a_busy_timeout():
    """Web server and worker share the embedded database: readers must not block the writer."""
    from django.db import connection

    if connection.vendor != "sqlite":
        assert connection.vendor == "postgresql"
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone()[0] == "wal"
        cursor.execute("PRAGMA busy_timeout")
        assert cursor.fetchone()[0] >= 10_000


def test_embedded_broker_connects_without_warnings(tmp_path):
    """kombu warns on every connection that names no host; the embedded broker names one."""
    script = (
        "import logging; logging.basicConfig(level=logging.WARNING)\n"
        "from agileml.celery import app\n"
        "conn = app.connection_for_write(); conn.ensure_connection(max_retries=1)\n"
        "print(conn.transport_cls, app.conf.broker_transport_options['data_folder_in'])\n"
        "app.control.ping(timeout=0.2)\n"
    )
    result = _manage("shell", "-v", "0", "-c", script, DEBUG="1", CELERY_BROKER_URL=f"filesystem://{tmp_path}")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["agileml.broker:Transport", str(tmp_path / "queue")]
    assert "No hostname" not in result.stderr
    assert "WARNING" not in result.stderr

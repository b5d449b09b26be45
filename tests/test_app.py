from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from openproctor.app import create_app
from openproctor.settings import Settings, load_settings
from tests.disks import MIB, SmallDisk

METRICS_TOKEN = "m" * 40


def test_healthz_answers_while_the_database_is_reachable(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_healthz_reports_an_unreachable_database(tmp_path: Path) -> None:
    settings = load_settings(
        data_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path}/missing/dir/db.sqlite",
        analysis_workers=0,
    )
    with TestClient(create_app(settings)) as client:
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"


def test_openapi_documents_the_api(client: TestClient) -> None:
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    for path in (
        "/api/v1/exams",
        "/api/v1/exams/{exam_id}/candidates",
        "/api/v1/exams/{exam_id}/sessions",
        "/api/v1/exams/{exam_id}/violations",
    ):
        assert path in paths
    assert not any(path.startswith("/admin") for path in paths)


def test_every_browser_gets_a_csrf_cookie_once(client: TestClient) -> None:
    first = client.get("/login")
    assert "op_csrf=" in first.headers["set-cookie"]
    assert "HttpOnly" in first.headers["set-cookie"]
    second = client.get("/login")
    assert "set-cookie" not in second.headers


def test_readyz_checks_database_storage_and_free_space(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    checks = {"database": "ok", "storage": "ok", "storage_space": "ok", "data_space": "ok"}
    assert response.json() == {"status": "ready", "checks": checks}


def free_bytes_metric(client: TestClient, volume: str) -> float:
    prefix = f'openproctor_free_bytes{{volume="{volume}"}} '
    line = next(
        line for line in client.get("/metrics").text.splitlines() if line.startswith(prefix)
    )
    return float(line.removeprefix(prefix))


def test_readyz_is_not_ready_while_free_space_is_below_the_threshold(
    settings: Settings, small_disk: SmallDisk
) -> None:
    # Below the threshold but not full: writes still work, so only the free space can tell.
    low = settings.model_copy(
        update={"storage_url": small_disk.storage.as_uri(), "min_free_bytes": 8 * MIB}
    )
    app = create_app(low)
    with TestClient(app) as client:
        assert client.get("/readyz").status_code == 200
        small_disk.fill(leave=2 * MIB)
        response = client.get("/readyz")
        assert response.status_code == 503
        checks = response.json()["checks"]
        assert checks["storage"] == "ok"
        assert checks["data_space"] == "ok"
        assert checks["storage_space"] == ("2 MiB free, below OPENPROCTOR_MIN_FREE_BYTES (8 MiB)")
        assert free_bytes_metric(client, "storage") == small_disk.free
        assert free_bytes_metric(client, "data") > 8 * MIB
        small_disk.free_up()
        assert client.get("/readyz").status_code == 200
        assert free_bytes_metric(client, "storage") > 30 * MIB
    app.state.context.engine.dispose()


def test_metrics_are_prometheus_text(client: TestClient) -> None:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    for name in (
        "openproctor_frames_total",
        "openproctor_inference_ms",
        "openproctor_violations_opened_total",
        "openproctor_upload_bytes_total",
        "openproctor_websocket_connections",
        "openproctor_analysis_rate_factor 1.0",
        'openproctor_free_bytes{volume="storage"}',
        'openproctor_free_bytes{volume="data"}',
    ):
        assert name in response.text


@contextmanager
def production(settings: Settings, **overrides: Any) -> Iterator[TestClient]:
    """The app with production settings, as validated at start-up."""
    production_settings = load_settings(
        env="production",
        secret_key="k" * 40,
        public_url="https://exams.example.com",
        data_dir=settings.data_dir,
        database_url=settings.database_url,
        analysis_workers=0,
        **overrides,
    )
    app = create_app(production_settings)
    with TestClient(app, base_url="https://testserver") as test_client:
        yield test_client
    app.state.context.engine.dispose()


def test_production_serves_no_metrics_or_api_docs_by_default(settings: Settings) -> None:
    with production(settings) as client:
        for path in ("/metrics", "/api/v1/openapi.json", "/api/docs", "/api/redoc"):
            assert client.get(path).status_code == 404, path
        assert client.get("/healthz").status_code == 200


def test_production_api_docs_when_turned_on(settings: Settings) -> None:
    with production(settings, api_docs=True) as client:
        assert client.get("/api/v1/openapi.json").status_code == 200
        assert client.get("/api/docs").status_code == 200
        assert client.get("/api/redoc").status_code == 200
        assert client.get("/api/docs/assets/swagger-ui-bundle.js").status_code == 200


@pytest.mark.parametrize("env", ["production", "development"])
def test_metrics_with_a_token_need_it_as_bearer(settings: Settings, env: str) -> None:
    if env == "production":
        context = production(settings, metrics_token=METRICS_TOKEN)
    else:
        app = create_app(settings.model_copy(update={"metrics_token": SecretStr(METRICS_TOKEN)}))
        context = TestClient(app)
    with context as client:
        assert client.get("/metrics").status_code == 401
        wrong = client.get("/metrics", headers={"Authorization": "Bearer " + "x" * 40})
        assert wrong.status_code == 401
        assert wrong.headers["www-authenticate"] == "Bearer"
        right = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
        assert right.status_code == 200
        assert "openproctor_frames_total" in right.text

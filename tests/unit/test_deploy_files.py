"""compose.yaml and docs/deploy/nginx.conf say what docs/operations.md promises (no Docker here)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from service.settings import ROOT, Settings


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    return loaded


def test_compose_runs_two_replicas_behind_nginx_on_postgres_and_redis() -> None:
    services = _compose()["services"]
    assert {"postgres", "redis", "migrate", "kefu-1", "kefu-2", "nginx"} <= set(services)
    for name in ("kefu-1", "kefu-2"):
        env = services[name]["environment"]
        assert env["KEFU_DATABASE_URL"].startswith("postgresql+asyncpg://")
        assert env["KEFU_REDIS_URL"].startswith("redis://")
        assert env["KEFU_MIGRATE"] == "false", "the one-shot migrate service upgrades"
        wait = services[name]["depends_on"]["migrate"]["condition"]
        assert wait == "service_completed_successfully"
    assert services["migrate"]["command"] == ["python", "-m", "service", "migrate"]
    assert (
        "./docs/deploy/nginx.conf:/etc/nginx/conf.d/default.conf:ro" in services["nginx"]["volumes"]
    )


def test_compose_settings_are_settings_kefu_knows() -> None:
    known = {f"KEFU_{name.upper()}" for name in Settings.model_fields}
    env = _compose()["services"]["kefu-1"]["environment"]
    assert set(env) <= known, set(env) - known


def test_nginx_passes_the_websocket_upgrade_to_every_replica() -> None:
    conf = (ROOT / "docs" / "deploy" / "nginx.conf").read_text()
    assert "proxy_set_header Upgrade $http_upgrade;" in conf
    assert "proxy_set_header Connection $connection_upgrade;" in conf
    assert "proxy_http_version 1.1;" in conf
    assert set(re.findall(r"server (kefu-\d):8000", conf)) == {"kefu-1", "kefu-2"}
    # Longer than the ping interval, so nginx never cuts a live, quiet socket.
    read_timeout = re.search(r"proxy_read_timeout (\d+)h;", conf)
    assert read_timeout is not None and int(read_timeout.group(1)) * 3600 > 20


def test_the_image_checks_health_on_the_configured_port() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert 'CMD ["python", "-m", "service", "healthcheck"]' in dockerfile
    assert "localhost:8000" not in dockerfile and "127.0.0.1:8000" not in dockerfile
    assert Path(ROOT / "docs" / "operations.md").exists()

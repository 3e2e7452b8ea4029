"""The API docs page works without outside network access."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient


def test_docs_use_local_assets(client: TestClient) -> None:
    page = client.get("/docs")

    assert page.status_code == 200
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert assets
    for asset in assets:
        assert asset.startswith("/"), asset
        assert client.get(asset).status_code == 200, asset

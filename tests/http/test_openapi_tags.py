"""The published API document groups every operation under a tag it declares, so a reader of
the document (and a generated client) finds each area of the API by name."""

from __future__ import annotations

from typing import Any

from litestar.testing import TestClient


def test_every_operations_tag_is_declared_in_the_document(client: TestClient[Any]) -> None:
    document = client.get("/api/v1/schema/openapi.json").json()
    declared = {t["name"] for t in document.get("tags", [])}
    used = {tag for item in document["paths"].values() for op in item.values() if isinstance(op, dict) for tag in op.get("tags", [])}

    assert used - declared == set()
    assert {"fhir", "deliveries", "directory"} <= declared

"""Imports: discovery cards from a municipality's e-service export, as the CLI's ``backa
import cards`` takes them (``docs/import-format.md``).

The body is the file itself, as ``application/json`` or ``text/csv``, or a
``multipart/form-data`` upload in a part named ``file``. The answer is the row-by-row report;
a file that cannot be read at all is a problem (422) and nothing of it is filed.
"""

from __future__ import annotations

from functools import partial
from pathlib import PurePath
from typing import Annotated, Any

import anyio.to_thread
from litestar import Controller, Request, post
from litestar.datastructures import UploadFile
from litestar.params import QueryParameter

from hub.application.card_import import MAX_FILE_BYTES, ImportFileError, ImportFormat
from hub.http.controllers._base import Caller, Hub
from hub.http.problems import problem_responses
from hub.http.schemas import CardImportReport
from hub.http.strict_json import BodyRefusedError, check_media_type, parse

MULTIPART_ROOM = 64 * 1024
"""Room in the body beyond the file itself for a multipart upload's boundaries and headers."""

BY_MEDIA_TYPE = {"text/csv": ImportFormat.CSV, "application/json": ImportFormat.JSON}


async def import_bodies_only(request: Request[Any, Any, Any]) -> None:
    """The file as JSON, CSV or a multipart upload; any other body is refused (415)."""
    media_type, options = request.content_type
    kind = media_type.strip().lower()
    if kind == "multipart/form-data":
        return
    if kind == "text/csv":
        if options.get("charset", "utf-8").strip().strip('"').lower() not in ("utf-8", "utf8"):
            raise BodyRefusedError(415, "unsupported-media-type", "Content-Type", "send the file as text/csv in UTF-8")
        return
    check_media_type(media_type, options)


class ImportsController(Controller):
    path = "/imports"
    tags = ["imports"]

    @post(
        "/cards",
        summary="Import discovery cards from an e-service export (CSV or JSON); answers the row-by-row report",
        responses=problem_responses(403, 415, 422),
        before_request=import_bodies_only,
        request_max_body_size=MAX_FILE_BYTES + MULTIPART_ROOM,
        status_code=200,
    )
    async def import_cards(
        self,
        request: Request[Any, Any, Any],
        hub: Hub,
        caller: Caller,
        file_format: Annotated[
            ImportFormat | None,
            QueryParameter(name="format", description="csv or json; by default the body's media type or the file's suffix"),
        ] = None,
        dry_run: Annotated[bool, QueryParameter(name="dry_run", description="check every row and report; file nothing")] = False,
    ) -> CardImportReport:
        """The body is the export file as docs/import-format.md describes it: ``application/json``
        (a list of cards, or ``{"cards": [...]}``), ``text/csv`` in UTF-8 with a header row, or a
        ``multipart/form-data`` upload with the file in the part ``file``. Each row is filed as
        its filer through the discovery card's own command and permission policy; the answer
        lists every row as accepted, rejected (with the fields refused) or skipped as imported
        before. A file that cannot be read at all is a problem and nothing of it is filed."""
        data, fmt = await _file(request, file_format)
        report = await anyio.to_thread.run_sync(partial(hub.import_cards, caller, data, fmt, dry_run=dry_run))
        return CardImportReport.model_validate(report.as_dict())


async def _file(request: Request[Any, Any, Any], asked: ImportFormat | None) -> tuple[bytes, ImportFormat]:
    """The file's bytes and format from the body; JSON is read strictly (a key twice, NaN,
    nesting too deep are refused as they are anywhere in the API)."""
    kind = request.content_type[0].strip().lower()
    if kind == "multipart/form-data":
        form = await request.form()
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise ImportFileError("send the file in a part named file", field="file")
        data = await upload.read()
        suffix = PurePath(upload.filename or "").suffix.lower().lstrip(".")
        fmt = asked or {"csv": ImportFormat.CSV, "json": ImportFormat.JSON}.get(suffix)
        if fmt is None:
            raise ImportFileError("name the format: ?format=csv or ?format=json", field="format")
    else:
        data = await request.body()
        fmt = asked or BY_MEDIA_TYPE.get(kind, ImportFormat.JSON)
    if fmt is ImportFormat.JSON and data and len(data) <= MAX_FILE_BYTES:
        try:
            parse(data)
        except BodyRefusedError as e:
            raise ImportFileError(f"the file is not JSON the API takes: {e.detail}", field="file") from None
    return data, fmt

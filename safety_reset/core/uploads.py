"""Uploads: the size limit enforced while the body streams, and the type decided from content.

Size. `LimitedUploadHandler` is first in FILE_UPLOAD_HANDLERS. A multipart body whose declared
Content-Length is over the limit is refused before a byte of it is read; otherwise each file is
counted chunk by chunk as Django's parser reads it, and the first chunk past UPLOAD_MAX_BYTES
stops the parse (the rest of the body is never read, nothing is written). The refusal is
`UploadTooLarge`: a `BadRequest` (pages: a 400 saying why) and a `MultiPartParserError` (the API:
DRF's JSON 400). Bodies that are not multipart are bounded by DATA_UPLOAD_MAX_MEMORY_SIZE.

Type. `detected_type` reads the file's first bytes: a known signature (the `filetype` library,
pure Python, so neither CI nor the image needs libmagic) decides the type, and it must be in the
allowlist (an .exe declared as PDF is refused whatever its name and Content-Type). A file with
no signature is accepted only as text (valid UTF-8, no NUL or other control bytes) whose declared
type or name is one of the allowlist's text types (a shell script named run.sh is refused).
"""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

import filetype  # type: ignore[import-untyped]  # no stubs published
from django.conf import settings
from django.core.exceptions import BadRequest, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler
from django.http.multipartparser import MultiPartParserError

# Room for the multipart boundaries and the form's small fields around a file at the limit.
ENVELOPE_BYTES = 64 * 1024
SNIFF_BYTES = 8192
TEXT_TYPES = {"text/plain": ".txt", "text/csv": ".csv", "application/json": ".json"}
# Control characters a text file does not contain (tab, LF, FF and CR are allowed).
_CONTROL = bytes(b for b in range(32) if b not in (9, 10, 12, 13)) + b"\x7f"


def _megabytes(size: int) -> str:
    return f"{size / 1_048_576:.1f} MB" if size % 1_048_576 else f"{size // 1_048_576} MB"


class UploadTooLarge(MultiPartParserError, BadRequest):
    """A multipart upload over UPLOAD_MAX_BYTES, refused while it streams."""

    def __init__(self, field: str | None, limit: int) -> None:
        self.field = field
        self.limit = limit
        what = f"The file in “{field}”" if field else "The upload"
        super().__init__(f"{what} is larger than the {_megabytes(limit)} limit.")


class LimitedUploadHandler(FileUploadHandler):
    """Counts each file's bytes as they arrive and stops the parse past the limit."""

    def __init__(self, request: Any = None) -> None:
        super().__init__(request)
        self.limit: int = settings.UPLOAD_MAX_BYTES
        self.received = 0

    def handle_raw_input(
        self,
        input_data: Any,
        META: dict[str, Any],  # noqa: N803 - Django's argument name
        content_length: int,
        boundary: str,
        encoding: str | None = None,
    ) -> None:
        if content_length > self.limit + ENVELOPE_BYTES:
            raise UploadTooLarge(None, self.limit)

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        self.received = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.received += len(raw_data)
        if self.received > self.limit:
            raise UploadTooLarge(self.field_name, self.limit)
        return raw_data  # the next handler (memory or temporary file) keeps it

    def file_complete(self, file_size: int) -> None:
        return None


def _allowed_list(allowed: dict[str, str]) -> str:
    return ", ".join(sorted({ext.lstrip(".").upper() for ext in allowed.values()}))


def _is_text(head: bytes) -> bool:
    if any(byte in _CONTROL for byte in head):
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut by the end of the sniffed bytes is still text.
        return exc.start >= len(head) - 3 and len(head) == SNIFF_BYTES
    return True


def detected_type(upload: UploadedFile, *, allowed: dict[str, str], field: str = "file") -> str:
    """The allowed content type of `upload`, judged from its bytes; ValidationError otherwise."""
    upload.seek(0)
    head = upload.read(SNIFF_BYTES)
    upload.seek(0)
    if isinstance(head, str):
        head = head.encode()
    declared = (upload.content_type or "").split(";")[0].strip().lower()
    kind = filetype.guess(head) if head else None
    if kind is not None:
        if kind.mime in allowed:
            return str(kind.mime)
        raise _refused(field, str(kind.mime), allowed)
    # No signature: text only, and only when its name or declared type says a text type.
    text_types = [t for t in TEXT_TYPES if t in allowed]
    if not head or not _is_text(head):
        raise _refused(field, "" if declared in allowed else declared, allowed)
    suffix = PurePath(upload.name or "").suffix.lower()
    by_suffix = [t for t in text_types if allowed[t] == suffix]
    if by_suffix:  # (browsers declare CSV as anything from text/csv to vnd.ms-excel)
        return by_suffix[0]
    if declared in text_types:
        return declared
    raise _refused(field, declared, allowed)


def _refused(field: str, mime: str, allowed: dict[str, str]) -> ValidationError:
    return ValidationError(
        {
            field: f"Files of type “{mime or 'unknown'}” are not accepted. "
            f"Allowed: {_allowed_list(allowed)}."
        }  # fmt: skip
    )

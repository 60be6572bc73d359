"""Uploads: the type decided from the bytes (an .exe named and declared PDF is refused), and the
size limit enforced while the body streams, for evidence (page and API) and the API import.
"""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.files.uploadhandler import load_handler
from django.http.multipartparser import MultiPartParser
from django.test import override_settings
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart
from django.urls import reverse

from safety_reset.audits import services
from safety_reset.audits.models import Evidence
from safety_reset.core.uploads import UploadTooLarge
from tests.api.conftest import api_client
from tests.factories import PersonFactory
from tests.roles import RoleWorld, client_as

pytestmark = pytest.mark.django_db

EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 200
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj << >> endobj\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 32


@pytest.fixture
def world(role_world: RoleWorld) -> RoleWorld:
    return role_world


def _evidence_url(world: RoleWorld) -> str:
    return reverse(
        "audits:item-evidence", args=[world.program.slug, world.system.slug, world.items[0].pk]
    )


# --- Type from content ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "declared"),
    [
        ("report.pdf", EXE, "application/pdf"),  # an .exe named and declared PDF
        ("shot.png", EXE, "image/png"),
        ("notes.txt", b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 64, "text/plain"),  # binary as text
        ("run.sh", b"rm -rf /\n", "application/x-sh"),  # text, but not an allowed kind
        ("empty.pdf", b"", "application/pdf"),
    ],
)
def test_refused_whatever_the_name_and_declared_type(world, name, content, declared):
    upload = SimpleUploadedFile(name, content, content_type=declared)
    with pytest.raises(Exception) as info:  # noqa: PT011 - checked just below
        services.evidence_add(item=world.items[0], actor=world.person("owner"), upload=upload)
    assert "not accepted" in info.value.message_dict["file"][0]
    assert "Allowed: CSV, JPG, JSON, PDF, PNG, TXT." in info.value.message_dict["file"][0]
    assert not Evidence.objects.exists()


@pytest.mark.parametrize(
    ("name", "content", "declared", "stored"),
    [
        ("report.pdf", PDF, "application/octet-stream", "application/pdf"),
        ("misnamed.txt", PNG, "text/plain", "image/png"),  # the bytes decide
        ("notes.txt", "Zürich notes\n".encode(), "", "text/plain"),
        ("rows.csv", b"a,b\n1,2\n", "application/vnd.ms-excel", "text/csv"),
        ("data.json", b'{"a": 1}', "application/json", "application/json"),
    ],
)
def test_accepted_as_what_the_content_is(
    world, settings, tmp_path, name, content, declared, stored
):
    settings.MEDIA_ROOT = tmp_path
    upload = SimpleUploadedFile(name, content, content_type=declared)
    evidence = services.evidence_add(
        item=world.items[0], actor=world.person("owner"), upload=upload
    )
    assert evidence.content_type == stored


def test_exe_named_pdf_refused_on_the_page_and_the_api(client, world):
    owner_client = client_as(client, world, "owner")
    upload = SimpleUploadedFile("report.pdf", EXE, content_type="application/pdf")
    response = owner_client.post(_evidence_url(world), {"note": "n", "file": upload})
    assert response.status_code == 400
    assert "Files of type “application/x-msdownload” are not accepted." in response.content.decode()

    api = api_client(world.person("owner"))
    upload = SimpleUploadedFile("report.pdf", EXE, content_type="application/pdf")
    url = reverse("api:item-evidence", args=[world.items[0].pk])
    response = api.post(url, {"file": upload}, format="multipart")
    assert response.status_code == 400
    assert "not accepted" in response.json()["file"][0]
    assert not Evidence.objects.exists()


# --- Size while streaming ---------------------------------------------------------------------


class CountingStream(io.BytesIO):
    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.consumed = 0

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.consumed += len(chunk)
        return chunk


def _parse(body: bytes, content_length: int) -> CountingStream:
    stream = CountingStream(body)
    meta = {"CONTENT_TYPE": MULTIPART_CONTENT, "CONTENT_LENGTH": str(content_length)}
    from django.conf import settings

    handlers = [load_handler(path) for path in settings.FILE_UPLOAD_HANDLERS]
    with pytest.raises(UploadTooLarge) as info:
        MultiPartParser(meta, stream, handlers).parse()
    return stream, info.value


@override_settings(UPLOAD_MAX_BYTES=100_000)
def test_over_the_limit_stops_before_the_body_is_read_whole():
    body = encode_multipart(
        BOUNDARY, {"note": "n", "file": SimpleUploadedFile("a.txt", b"x" * 1_000_000)}
    )
    # An honest Content-Length over the limit: refused before a byte is read.
    stream, error = _parse(body, len(body))
    assert stream.consumed == 0
    assert error.field is None
    assert str(error) == "The upload is larger than the 0.1 MB limit."

    # A body that claims less (or streams chunked): stopped at the first chunk past the limit.
    stream, error = _parse(body, 150_000)
    assert error.field == "file"
    assert stream.consumed < 200_000 < len(body)


@override_settings(UPLOAD_MAX_BYTES=100_000, EVIDENCE_MAX_UPLOAD_BYTES=10_000_000)
def test_over_the_limit_page_says_why_and_writes_nothing(client, world):
    owner_client = client_as(client, world, "owner")
    upload = SimpleUploadedFile("big.txt", b"x" * 300_000, content_type="text/plain")
    response = owner_client.post(_evidence_url(world), {"note": "n", "file": upload})
    assert response.status_code == 400
    assert "larger than the" in response.content.decode()
    assert not Evidence.objects.exists()


@override_settings(UPLOAD_MAX_BYTES=100_000)
def test_over_the_limit_api_import_and_evidence_answer_json_400(world):
    pm = PersonFactory(role="program_manager")
    api = api_client(pm)
    upload = SimpleUploadedFile("systems.csv", b"slug,name\n" + b"x,y\n" * 60_000, "text/csv")
    response = api.post(reverse("api:system-import-list"), {"file": upload}, format="multipart")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    [(key, [message])] = response.json().items()
    assert key in ("file", "non_field_errors")  # the field, once the parser has reached it
    assert "larger than the 0.1 MB limit" in message

    api = api_client(world.person("owner"))
    upload = SimpleUploadedFile("big.txt", b"x" * 300_000, content_type="text/plain")
    url = reverse("api:item-evidence", args=[world.items[0].pk])
    response = api.post(url, {"file": upload}, format="multipart")
    assert response.status_code == 400
    [(key, [message])] = response.json().items()
    assert key in ("file", "non_field_errors")  # the field, once the parser has reached it
    assert "larger than the 0.1 MB limit" in message
    assert not Evidence.objects.exists()

"""A class's học bạ signed by one signer at once over HTTP (Điều 8, 18): prepared together, signed on
the signer's side under one authorisation of the key, recorded together or not at all."""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any

import httpx

from ledger.app.demo import DemoSchool
from ledger.app.runtime import Runtime
from signing.x509.signers import MemoryKey
from signing.xml import xades
from tests.api.test_api import V1
from tests.support import helpers


async def test_a_teacher_signs_a_class_over_http_in_one_batch_dieu_8_18(
    api: httpx.AsyncClient, demo: DemoSchool, tokens: Any, pki: Any, runtime: Runtime
) -> None:
    from cryptography.hazmat.primitives.serialization import Encoding

    base = f"{V1}/schools/{demo.school}"
    holder = pki.issue_demo_personal(
        demo.school, "gv.toan02", "Gv Toán", valid_from=runtime.clock.now() - timedelta(days=30)
    )
    pem = holder.certificate.public_bytes(Encoding.PEM).decode()
    registered = await api.post(f"{base}/certificates", json={"certificate": pem}, headers=tokens["PRINCIPAL"])
    assert registered.status_code == 201, registered.text
    prepare = f"{base}/classes/7A1/signatures/prepare?year={demo.year}"
    body = {"role": "SUBJECT_TEACHER", "subject": "TOAN"}  # gv.toan02 teaches it in every class
    not_mine = await api.post(prepare, json=body, headers=tokens["HOMEROOM_TEACHER"])
    assert not_mine.status_code == 403 and not_mine.json()["code"] == "signature.role", not_mine.text

    unknown = await api.post(prepare.replace("/7A1/", "/9Z9/"), json={"role": "PRINCIPAL"}, headers=tokens["PRINCIPAL"])
    assert unknown.status_code == 404 and unknown.json()["code"] == "class.unknown", unknown.text
    prepared = await api.post(prepare, json=body, headers=tokens["SUBJECT_TEACHER"])
    assert prepared.status_code == 200, prepared.text
    documents, not_ready = prepared.json()["documents"], prepared.json()["not_ready"]
    class_of = set(demo.rosters["7A1"])
    assert {d["student"] for d in documents} | {n["student"] for n in not_ready} == class_of
    assert documents and all(n["code"] and n["message_vi"] for n in not_ready), not_ready
    assert all(d["references"] == ["#subject-TOAN"] for d in documents)
    # a subject teacher reads their subject alone (Điều 5.3c, 35): the pupil's name and Toán, not the
    # other subjects, the conduct, the decision or the guardian, in any pupil's học bạ
    shown = [base64.b64decode(d["document"]) for d in documents]
    assert all(b'Id="subject-TOAN"' in x and b"subject-NGU_VAN" not in x for x in shown)
    assert not any(b"RenLuyen" in x or b"QuyetDinh" in x or b"NguoiGiamHo" in x for x in shown)

    key = MemoryKey(holder.key, holder.certificate)
    signed = await xades.sign_all(
        [base64.b64decode(d["document"]) for d in documents], key, signing_time=runtime.clock.now()
    )
    batch = [
        {"student": d["student"], "document": base64.b64encode(data).decode()}
        for d, data in zip(documents, signed, strict=True)
    ]
    submit = f"{base}/classes/7A1/signatures?year={demo.year}"
    head = await helpers.head(demo.ledger, demo.school)
    other_class = next(c for c in sorted(demo.rosters) if c != "7A1")
    elsewhere = {**batch[0], "student": demo.rosters[other_class][0]}
    refused = await api.post(submit, json={"documents": [*batch[1:], elsewhere]}, headers=tokens["SUBJECT_TEACHER"])
    assert refused.status_code == 422 and refused.json()["code"] == "signature.class", refused.text
    assert await helpers.head(demo.ledger, demo.school) == head  # nothing of the batch was recorded

    submitted = await api.post(submit, json={"documents": batch}, headers=tokens["SUBJECT_TEACHER"])
    assert submitted.status_code == 201, submitted.text
    recorded = submitted.json()["signatures"]
    assert [(r["student"], r["role"], r["parts"]) for r in recorded] == [
        (d["student"], "SUBJECT_TEACHER", ["subject-TOAN"]) for d in documents
    ]
    again = (await api.post(prepare, json=body, headers=tokens["SUBJECT_TEACHER"])).json()
    assert again["documents"] == [] and {n["student"] for n in again["not_ready"]} == class_of

"""Hostile requests get a clear refusal, never a server error, and each leaves its access entry."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import httpx
import pytest

V1 = "/api/v1"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forged(secret: bytes, header: Any, body: Any) -> str:
    """A token with a valid signature over a header and body that are not what a token holds: what
    someone who has the signing key, or a bug, could produce."""
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(body).encode())}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


@pytest.mark.parametrize(
    ("header", "body"),
    [
        ([1], {}),  # the header is not an object
        ({"alg": "HS256"}, [1]),  # nor the claims
        ({"alg": "HS256"}, {"exp": 10**30, "knd": "STAFF", "sub": "ht.doanthuy", "sch": "kp", "jti": "x"}),
        ({"alg": "HS256"}, {"exp": "soon", "knd": "STAFF", "sub": "ht.doanthuy", "sch": "kp", "jti": "x"}),
    ],
)
async def test_a_malformed_token_is_refused_with_401(app: Any, api: httpx.AsyncClient, header: Any, body: Any) -> None:
    token = forged(app.state.tokens.secret, header, body)
    answer = await api.get(f"{V1}/me", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 401, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize("path", ["/dang-nhap", "/cong-xac-minh", "/truong/kp-khong-co", "/static/hocba.css"])
async def test_pages_tell_the_browser_what_it_may_load(api: httpx.AsyncClient, path: str) -> None:
    """Pages, their error pages and their assets carry a content security policy without inline
    script, refuse to be framed, and are not sniffed."""
    answer = await api.get(path)
    policy = answer.headers.get("content-security-policy", "")
    assert "script-src 'self'" in policy and "'unsafe-inline'" not in policy, (answer.status_code, policy)
    assert "frame-ancestors 'none'" in policy
    # the script connects to the service and to the signer's own computer only (the USB token's helper)
    assert "connect-src 'self' http://127.0.0.1:*;" in policy
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["referrer-policy"] == "same-origin"


async def test_a_query_parameter_given_twice_is_refused_before_the_guard_judges_it(
    api: httpx.AsyncClient, demo: Any, tokens: dict[str, dict[str, str]], runtime: Any
) -> None:
    """`?year=A&year=B`: the guard would authorise one year and the handler serve the other. Refused
    with 400, for every route, and the refusal is in the trail."""
    from audit.trail import query_access

    sheet = f"{V1}/schools/{demo.school}/classes/6A1/sheets/TOAN/1"
    teacher = tokens["SUBJECT_TEACHER"]
    assert (await api.get(sheet, params={"year": demo.year}, headers=teacher)).status_code == 200
    twice = await api.get(f"{sheet}?year={demo.year}&year=2026-2027", headers=teacher)
    assert twice.status_code == 400, twice.text
    body = twice.json()
    assert body["code"] == "query.repeated" and body["field"] == "year" and "nhiều lần" in body["detail_vi"]
    async with runtime.engine().connect() as conn:
        seen = await query_access(conn, demo.school, username="gv.toan02", limit=5)
    assert any(r["reason"] == "query.repeated" and r["status"] == 400 for r in seen)


async def test_a_page_visit_without_a_session_is_recorded_as_denied(api: httpx.AsyncClient, runtime: Any) -> None:
    """The visitor is sent to sign in (303), and the trail says the page was refused, not served."""
    from audit.trail import query_access

    path = "/truong/kp-khong-co-phien/lich"
    answer = await api.get(path)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/dang-nhap?next=")
    async with runtime.engine().connect() as conn:
        seen = await query_access(conn, "service", limit=50)
    [entry] = [r for r in seen if r["path"] == path]
    assert (entry["outcome"], entry["status"], entry["reason"]) == ("denied", 303, "credential.missing")


async def test_a_wrong_method_names_the_allowed_ones(api: httpx.AsyncClient) -> None:
    answer = await api.delete(f"{V1}/health")
    allowed = {m.strip() for m in answer.headers["allow"].split(",")}
    assert answer.status_code == 405 and "GET" in allowed and "DELETE" not in allowed
    assert answer.headers["content-type"].startswith("application/problem+json")


async def test_a_number_beyond_the_database_is_refused_without_its_words(
    api: httpx.AsyncClient, demo: Any, tokens: dict[str, dict[str, str]]
) -> None:
    """An integer above 2^63 is answered 422 with a readable message; the database's own error text
    (naming its tables and types) never reaches the client."""
    answer = await api.get(f"{V1}/schools/{demo.school}/feed", params={"after": 2**64}, headers=tokens["INTEGRATION"])
    assert answer.status_code == 422, answer.text
    text = answer.text.lower()
    assert "bigint" not in text and "psycopg" not in text and "hocba." not in text

"""Signing in (password or certificate, Điều 10.2), the limit on refused attempts, and the signed-in
account: who it is, what it holds, its password."""

from __future__ import annotations

import base64
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, get, post
from litestar.datastructures import State
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK

from api.http.problems import ERRORS, problem
from api.http.scope import PUBLIC, entry_of, principal_of, runtime_of
from api.v1.params import V1, SchoolField, UsernameField
from ledger.app.limits import Reservation
from ledger.app.logins import LOGIN_WINDOW, login_succeeded, refused_before, reserve_login
from ledger.app.tokens import check_certificate_login
from ledger.base.errors import AuthenticationFailed
from ledger.log.projection import read
from ledger.school.accounts.commands import revoke_token, set_password
from ledger.school.accounts.queries import account_row, check_password
from ledger.school.rules.policy import AccountKind
from ledger.school.schools.tables import schools


class Login(msgspec.Struct):
    school: SchoolField
    username: UsernameField
    password: Annotated[str, msgspec.Meta(max_length=200)]


class TokenOut(msgspec.Struct):
    access_token: str
    token_type: str
    expires_at: str


class ChallengeIn(msgspec.Struct):
    school: SchoolField
    username: UsernameField


class CertificateLogin(msgspec.Struct):
    school: SchoolField
    username: UsernameField
    challenge: str
    certificate: str  # base64 DER
    signature: str  # base64, over the challenge's UTF-8 bytes


async def refused_logins(request: Request[Any, Any, Any], state: State, school: str, username: str) -> Reservation:
    """Reserve this sign-in attempt against the limits (`.over` set: refuse it without checking the
    password); the attempt's access entry names the account, and goes to the school's chain when the
    school exists."""
    entry = entry_of(request)
    entry.username = username
    runtime = runtime_of(state)
    async with runtime.engine().connect() as conn:
        if await read(conn, schools, school):
            entry.school = school  # logins to a school that does not exist stay in the service chain
    reservation = await reserve_login(runtime.engine(), school, username, entry.client, runtime.clock.now())
    if reservation.over is not None:
        entry.reason = "login.rate_limited"
    return reservation


async def _guard_login(
    request: Request[Any, Any, Any], state: State, school: str, username: str
) -> tuple[Reservation, Response[Any] | None]:
    """The attempt's reservation, and the 429 to answer when it is past the limit."""
    reservation = await refused_logins(request, state, school, username)
    if reservation.over is None:
        return reservation, None
    minutes = LOGIN_WINDOW.seconds // 60
    return reservation, problem(
        429,
        f"{refused_before(reservation)} refused logins in {minutes} minutes; retry later",
        retry_after=reservation.retry_after,
        request_id=entry_of(request).request_id,
    )


def _token(state: State, school: str, username: str, kind: AccountKind) -> TokenOut:
    token, expires = state.tokens.issue(username, school, kind)
    return TokenOut(token, "Bearer", expires.isoformat())


@post(
    f"{V1}/auth/token",
    operation_id="auth_token",
    opt={"action": PUBLIC},
    status_code=HTTP_200_OK,
    responses=ERRORS,
    summary="Sign in with a password; returns a short-lived access token",
)
async def auth_token(request: Request[Any, Any, Any], state: State, data: JSONBody[Login]) -> Response[Any]:
    reservation, refused = await _guard_login(request, state, data.school, data.username)
    if refused is not None:
        return refused
    try:
        kind = await check_password(runtime_of(state).engine(), data.school, data.username, data.password)
    except AuthenticationFailed as failure:
        entry_of(request).reason = failure.reason
        return problem(401, "the username or password is not right", "Tên đăng nhập hoặc mật khẩu không đúng.")
    await login_succeeded(runtime_of(state).engine(), reservation)
    return Response(_token(state, data.school, data.username, kind))


@post(
    f"{V1}/auth/challenge",
    operation_id="auth_challenge",
    opt={"action": PUBLIC},
    status_code=HTTP_200_OK,
    responses=ERRORS,
    summary="A challenge to sign with a personal certificate (Điều 10.2)",
)
async def auth_challenge(request: Request[Any, Any, Any], state: State, data: JSONBody[ChallengeIn]) -> dict[str, str]:
    entry_of(request).username = data.username
    return {"challenge": state.challenges.issue(data.school, data.username)}


@post(
    f"{V1}/auth/certificate",
    operation_id="auth_certificate",
    opt={"action": PUBLIC},
    status_code=HTTP_200_OK,
    responses=ERRORS,
    summary="Sign in with a signed challenge and a personal certificate (Điều 10.2)",
)
async def auth_certificate(
    request: Request[Any, Any, Any], state: State, data: JSONBody[CertificateLogin]
) -> Response[Any]:
    reservation, refused = await _guard_login(request, state, data.school, data.username)
    if refused is not None:
        return refused
    runtime = runtime_of(state)
    try:
        state.challenges.check(data.challenge, data.school, data.username)
        async with runtime.engine().connect() as conn:
            account = await account_row(conn, data.school, data.username)
        if account is None or account["disabled"] or account["kind"] != AccountKind.STAFF.value:
            raise AuthenticationFailed("login.unknown")
        check_certificate_login(
            base64.b64decode(data.certificate, validate=True),
            data.challenge,
            base64.b64decode(data.signature, validate=True),
            data.school,
            account["staff_id"],
            runtime.trusted_roots(),
            runtime.clock.now(),
        )
    except (AuthenticationFailed, ValueError) as failure:
        entry_of(request).reason = getattr(failure, "reason", "certificate.malformed")
        return problem(401, "the certificate login was not accepted", "Đăng nhập bằng chứng thư số không thành công.")
    await login_succeeded(runtime.engine(), reservation)
    return Response(_token(state, data.school, data.username, AccountKind.STAFF))


class PasswordChange(msgspec.Struct):
    current: str
    new: str


@get(
    f"{V1}/me", operation_id="me", opt={"action": "account.me"}, responses=ERRORS, summary="Who am I, with my roles now"
)
async def me(request: Request[Any, Any, Any]) -> dict[str, Any]:
    principal = principal_of(request)
    return {
        "username": principal.username,
        "school": principal.school,
        "kind": principal.kind.value,
        "staff_id": principal.staff_id,
        "student_id": principal.student_id,
        "grants": [
            msgspec.structs.asdict(msgspec.convert(g, GrantOut, from_attributes=True)) for g in principal.grants
        ],
    }


class GrantOut(msgspec.Struct):
    role: str
    year: str | None
    class_id: str | None
    subject: str | None
    term: int | None


@post(
    f"{V1}/me/password",
    operation_id="me_password",
    opt={"action": "account.me"},
    status_code=HTTP_200_OK,
    responses=ERRORS,
    summary="Change my password",
)
async def me_password(request: Request[Any, Any, Any], state: State, data: JSONBody[PasswordChange]) -> Response[Any]:
    principal = principal_of(request)
    runtime = runtime_of(state)
    reservation, blocked = await _guard_login(request, state, principal.school, principal.username)
    if blocked is not None:
        return blocked
    try:
        await check_password(runtime.engine(), principal.school, principal.username, data.current)
    except AuthenticationFailed:
        entry_of(request).reason = "password.wrong"  # counts towards the sign-in limit: the same secret
        return problem(403, "the current password is not right", "Mật khẩu hiện tại không đúng.")
    await login_succeeded(runtime.engine(), reservation)
    await set_password(runtime.engine(), principal.school, principal.username, data.new, runtime.clock.now())
    # Every token issued until now is ended, this one too: the caller goes on with a new one.
    renewed = _token(state, principal.school, principal.username, principal.kind)
    return Response({"changed": True, "access_token": renewed.access_token, "expires_at": renewed.expires_at})


async def end_session(state: State, token: str) -> None:
    """Revoke a token that authenticated this request: refused from the next request on."""
    runtime = runtime_of(state)
    try:
        claims = state.tokens.read(token)
    except AuthenticationFailed:
        return
    await revoke_token(
        runtime.engine(), claims.school, claims.username, claims.jti, claims.expires, runtime.clock.now()
    )


@post(
    f"{V1}/auth/sign-out",
    operation_id="auth_sign_out",
    opt={"action": "account.me"},
    status_code=HTTP_200_OK,
    responses=ERRORS,
    summary="Sign out: the bearer token of this request stops working at once",
)
async def auth_sign_out(request: Request[Any, Any, Any], state: State) -> dict[str, Any]:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        await end_session(state, token.strip())
    return {"signed_out": True}

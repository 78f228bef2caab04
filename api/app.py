"""The Litestar application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar, Router
from litestar.datastructures import State
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.template.config import TemplateConfig

from api.http.access import Service
from api.http.client_certs import ClientCertificates
from api.http.guard import guard
from api.http.metrics import METRICS_ROUTES
from api.http.problems import EXCEPTION_HANDLERS
from api.http.scope import PUBLIC
from api.pages.router import page_headers, page_router
from api.pages.toolkit import TEMPLATES, template_filters
from api.v1.portal import PORTAL_ROUTES
from api.v1.routes import ROUTES
from audit.trail import AccessTrail
from ledger.app.jobs import build_scheduler
from ledger.app.notify import Notifier, notifier_for
from ledger.app.runtime import Runtime
from ledger.app.tokens import Challenges, Tokens, token_secret
from ledger.school.accounts.principals import Principals
from ledger.school.readmodels import school_ledger

DESCRIPTION = (
    "hocba-ledger: the append-only ledger of a school's assessment records and digital transcripts "
    "(học bạ số). Every request, allowed or refused, leaves one entry in the access trail. Errors are "
    "RFC 9457 problem+json with `detail` (English) and `detail_vi` (Vietnamese)."
)


def create_app(runtime: Runtime, *, scheduler: bool = True, notifier: Notifier | None = None) -> Service:
    secret = token_secret(runtime.settings)
    state = State(
        {
            "runtime": runtime,
            "ledger": school_ledger(runtime.engine(), clock=runtime.clock),
            "trail": AccessTrail(runtime.engine(), clock=runtime.clock),
            "tokens": Tokens(secret, runtime.clock),
            "challenges": Challenges(secret, runtime.clock),
            "principals": Principals(),
            "client_certificates": ClientCertificates(runtime.settings.trusted_proxies),
            "notifier": notifier or notifier_for(runtime.settings.smtp),
        }
    )

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        jobs = build_scheduler(runtime, state.notifier) if scheduler else None
        if jobs is not None:
            jobs.start()
        try:
            yield
        finally:
            if jobs is not None:
                jobs.shutdown(wait=False)
            await runtime.close()

    app = Litestar(
        route_handlers=[*ROUTES, *PORTAL_ROUTES, *METRICS_ROUTES, page_router()],
        template_config=TemplateConfig(
            directory=TEMPLATES, engine=JinjaTemplateEngine, engine_callback=template_filters
        ),
        state=state,
        guards=[guard],
        exception_handlers=EXCEPTION_HANDLERS,
        openapi_config=OpenAPIConfig(
            title="hocba-ledger",
            version="1",
            description=DESCRIPTION,
            path="/schema",
            render_plugins=[JsonRenderPlugin()],
            openapi_router=Router("/schema", route_handlers=[], opt={"action": PUBLIC}, include_in_schema=False),
        ),
        lifespan=[lifespan],
        before_send=[page_headers],
        logging_config=None,  # logging is configured once, in ledger.base.logs
    )
    return Service(app)


def from_environment() -> Service:
    """The application of one service worker process (`hocba serve --workers N`), from the environment."""
    from ledger.app.runtime import open_runtime
    from ledger.base.logs import configure_logging
    from ledger.base.settings import load_settings

    settings = load_settings()
    configure_logging(settings.log_format or ("json" if settings.production else None))
    return create_app(open_runtime(settings))

"""The web application, thin over ledger/, signing/ and audit/:

    api.http   the request's scope, problem+json, the one authorization guard, the access-trail wrapper
    api.v1     the JSON API under /api/v1, one module per resource
    api.pages  pages for people: a toolkit, a router, one module per group of pages
    api.app    the application that serves them all

Imports point down that list; nothing below api imports it."""

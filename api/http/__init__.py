"""The HTTP layer under every route and page: the request's scope, problem+json errors (RFC 9457) in
Vietnamese and English, the one authorization guard, the access-trail wrapper, the sign-in limit and
/metrics. Imports no route and no page.
"""

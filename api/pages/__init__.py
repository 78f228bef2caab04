"""Pages for people, in Vietnamese with an English toggle (`?lang=en`, remembered in a cookie), served
by the same application: the same guard and policy as the API (each page names the action it needs),
and one access-trail entry for every page view. Assets are served from this package; nothing comes
from a CDN, and the pages work without their one small script (it only checks values as they are
typed).

Signing in sets a cookie holding the same short-lived token the API hands out as a bearer token; only
page routes accept it (opt `page`), and every form they receive carries a token derived from it
(CSRF). `toolkit` holds the machinery and imports no page; `router` gathers every page; each other module
is one group of pages.
"""

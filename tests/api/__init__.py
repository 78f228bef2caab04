"""Tests of the HTTP API: routes, authorization, the integration feed, metrics, the portal, fuzzing."""

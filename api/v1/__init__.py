"""The JSON API under /api/v1, one module per resource. Thin: each route authorizes through the one guard
(its `action`), calls the ledger, and notes which students it touched for the access trail.
"""

"""The hash-chained log, knowing nothing of schools: table definitions, the storage contract, the
append path with group commit, projections and their replay, verification and checkpointing.
Imports ledger.base, ledger.format and signing.x509 (to check a checkpoint's certificate)."""

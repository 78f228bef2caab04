"""hocba-ledger's core, in layers whose imports point down only (checked by `python3 ops/dev.py lint`):

ledger.base     clock, settings, errors, logging                  imports nothing of the project
ledger.format   the public byte format: canonical JSON, envelope, Merkle, checkpoint   (pure)
ledger.log      the hash-chained log: store, append, projections, replay, verify, checkpointing
ledger.school   the domain: the regulation's rules and one package per aggregate
ledger.app      process wiring: database roles and engines, runtime, jobs, backup, demo, tokens
ledger.cli      the `hocba` command line, one module per command group
"""

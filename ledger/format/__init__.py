"""The public byte format of docs/LEDGER-FORMAT.md: RFC 8785 canonical JSON, the event envelope and its
hash chain, RFC 9162 Merkle trees and proofs, signed checkpoints. Pure: no database, no web; imports
only ledger.base, so an outside verifier needs nothing else."""

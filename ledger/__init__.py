"""hocba-ledger core: event envelope, hash chain, Merkle checkpoints, append, verify and projections."""

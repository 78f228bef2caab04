"""The school registry: the first events of every chain."""

"""The `hocba` command line: one module per command group, each printing errors as one readable line."""

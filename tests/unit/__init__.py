"""Tests of the pure parts, without a database: the byte format and the TT22 rules."""

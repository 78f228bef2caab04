"""Whole scenarios: a school year end to end, the demo, crashes, backups, the embedded server, and the
reference outputs a change of layout must keep."""

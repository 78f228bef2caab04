"""Tests of the pages, over HTTP and in a real browser (Debian's Chromium)."""

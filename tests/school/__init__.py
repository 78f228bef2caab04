"""Tests of the school domain on a real PostgreSQL, each rule citing its article."""

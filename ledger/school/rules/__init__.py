"""The rules as pure functions and data: TT22 assessment, one student's year, identifiers, roles and
the authorization policy. No database, no web."""

"""Accounts: who may sign in, as whom (a staff member, a student or a guardian, an auditor, an
integration client), with argon2 password hashes or an API key."""

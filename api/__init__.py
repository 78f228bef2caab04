"""The Litestar application: thin routes over ledger/, signing/ and audit/."""

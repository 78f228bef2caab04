"""Process wiring: database roles and engines, migrations, the runtime a process needs, scheduled
jobs, backups, notifications and the demo school. The only layer besides the CLI that reaches the
development PKI."""

"""The domain, the log's "personality": the regulation's rules as pure modules (`rules`), and one
package per aggregate (school years, assessments, the calendar, corrections, signatures, issuance,
transfers, …), each split into its tables, queries and commands so that reading a table never
imports a command. Imports the log core and signing; never the application, the CLI or the web."""

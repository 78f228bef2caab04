"""Physical recovery: scratch PostgreSQL clusters, and point-in-time recovery with pgBackRest."""

"""The state database's revisions, oldest first (``0001_initial`` is the schema of the last
release before migrations)."""

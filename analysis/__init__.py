"""Analysis stage: rebuild the yearly value networks and the report's statistics from the database."""

"""Database stage: typed models, engine/session helpers, migrations and taxonomy seeding."""

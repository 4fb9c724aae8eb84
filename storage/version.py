"""The cache's schema version, apart from the SQLModel tables so opening a current cache does
not import them. Bump it on any change to ``storage/schema.py``: the cache is rebuilt."""

SCHEMA_VERSION = 8

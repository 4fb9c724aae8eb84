"""The cache's schema version, apart from the SQLModel tables so opening a current cache does
not import them. Bump it on any change to ``storage/schema.py``, or to what the cache may hold
(a rebuild purges what an older version stored, e.g. credentials in launch URLs)."""

SCHEMA_VERSION = 10

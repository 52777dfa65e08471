"""The service's one database: its tables, migrations, write transactions and audit trail.

It sits low in the layers so that everything the service stores (the work queue, the
policy versions, API keys, and the people and tenants above them) shares one engine,
one migration history and one append-only trail.
"""

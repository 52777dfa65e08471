"""People and their sign-in, as rules without a database or a web framework.

Everything here is pure logic with injected clocks and stores, so that the rules
(password hashing and policy, login throttling, session expiry, CSRF, roles) are
tested in milliseconds and shared by the service, the CLI and the data layer.
The package sits low in the import layers: it may import `settings` and
`data_contracts` only, so the database and the web code build on it, never the
other way round.
"""

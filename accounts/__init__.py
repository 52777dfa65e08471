"""People and their sign-in, as rules without a database or a web framework.

Everything here is pure logic with injected clocks and stores, so that the rules
(password hashing and policy, login throttling, session expiry, CSRF, roles) are
tested in milliseconds and shared by the service, the CLI and the data layer.
The package sits low in the import layers: it may import `settings` and
`data_contracts` only, so the database and the web code build on it, never the
other way round.

A sign-in puts the pieces together in this order, so that every failure looks
alike whether or not the username exists:

1. `throttle.check(tenant, username, address)`; not allowed: refuse unheard (429,
   `Retry-After: verdict.retry_after_seconds`), counting nothing.
2. Look the person up; `passwords.verify_password(hash or None, password)` (`None`
   for an unknown username: the same argon2 work, `False`).
3. Wrong password, unknown or disabled person: `throttle.record_failure(...)` and one
   and the same refusal. Otherwise `throttle.record_success(...)`, store a new hash
   if `passwords.needs_rehash(hash)`, and `sessions.start_session(...)`: the token
   goes in the cookie, the `Session` (id = the token's SHA-256) in the database.
"""

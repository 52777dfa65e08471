"""People and their sign-in: the rules, and the people and sessions in the database.

The rules (`passwords`, `throttle`, `sessions`, `roles`, `clock`) are pure logic with
injected clocks and stores, tested in milliseconds and shared by the service and the
CLI; they import `settings` only. `people` (users, sign-in, sessions) and
`throttle_store` (the throttle's counters) keep them in the service's database: the
package sits just above `storage` in the import layers, so the web code builds on it,
never the other way round.

A sign-in puts the pieces together in this order, so that every failure looks
alike whether or not the username exists:

1. `throttle.admit(tenant, username, address)`: in one atomic step per counter, either
   refuse unheard (429, `Retry-After: verdict.retry_after_seconds`), counting nothing,
   or count the attempt as a failure now, before the password is verified, so that
   concurrent guesses cannot all pass the check before any is counted.
2. Look the person up; `passwords.verify_password(hash or None, password)` (`None`
   for an unknown username: the same argon2 work, `False`).
3. Wrong password, unknown or disabled person: nothing more to count, one and the same
   refusal. Otherwise `throttle.record_success(tenant, username, address)` (the
   person's counter cleared, the address's failure taken back), store a new hash
   if `passwords.needs_rehash(hash)`, and `sessions.start_session(...)`: the token
   goes in the cookie, the `Session` (id = the token's SHA-256) in the database.

`people.UserStore.authenticate` is that sequence, audited.
"""

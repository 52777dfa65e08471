"""Watching the champion after promotion: its kept scores joined to the outcomes that came
later, realized and label-free estimated performance, input and prediction drift against
the reference profile saved with the bundle, and the alerts a data scientist acts on.

Beside `queues` and `analytics`: it loads the registered bundle, never `training`.
"""

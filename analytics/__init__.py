"""What RevOps and billing leadership read: KPIs and the cash forecast.

Every measure is computed here once, from a data directory's contract tables (and, for
the forecast, the registered model bundle), so the CLI, the JSON API and the pages show
the same numbers.
"""

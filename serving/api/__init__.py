"""The HTTP service: FastAPI app, a router per domain, dependencies in `deps.py`."""

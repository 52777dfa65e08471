# The two set-up commands of the README: `make demo` and `make test`, both from nothing.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DIR ?= data/demo
DEMO_CLAIMS ?= 20000
DEMO_SEED ?= 7

CHROMIUM ?= /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test lint format venv bench clean browser screenshots

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) (Python 3.11+) on PATH"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/denialops synth --claims $(DEMO_CLAIMS) --seed $(DEMO_SEED) --out $(DEMO_DIR) --ends-on $$(date +%F)
	$(BIN)/denialops validate --data $(DEMO_DIR)
	$(BIN)/denialops features build --data $(DEMO_DIR) --out $(DEMO_DIR)/features.parquet --state $(DEMO_DIR)/feature_state
	$(BIN)/denialops train --data $(DEMO_DIR)
	$(BIN)/denialops score --data $(DEMO_DIR) --out $(DEMO_DIR)/scored.csv
	@# The champion's health on the same data (exit 3 means an alert fired: shown, not a failure).
	$(BIN)/denialops monitor --data $(DEMO_DIR) --json $(DEMO_DIR)/alerts.json --report $(DEMO_DIR)/model-health.html || test $$? -eq 3
	$(BIN)/denialops queue rank --data $(DEMO_DIR) --out $(DEMO_DIR)/queue.csv
	$(BIN)/denialops policy simulate --data $(DEMO_DIR) --budget-hours 100 --out $(DEMO_DIR)/policy_simulation.html
	# The service reads the same settings: the queue goes to its database (./denialops.db).
	$(BIN)/denialops queue load --data $(DEMO_DIR) --by demo
	$(BIN)/denialops request --data $(DEMO_DIR) --out $(DEMO_DIR)/request.json
	@umask 077; $(BIN)/denialops keys add --role admin --by demo > $(DEMO_DIR)/admin.key
	# A second tenant, `demo`, on the same data: its queue ranks with the shared model until it trains its own.
	$(BIN)/denialops tenants add demo --data $(DEMO_DIR) --exist-ok --by demo
	$(BIN)/denialops queue load --tenant demo --by demo
	@# Browser sessions are signed with a secret of this installation, made here and kept in a file.
	@umask 077; test -s $(DEMO_DIR)/session.secret || $(BIN)/python -c "import secrets; print(secrets.token_urlsafe(48))" > $(DEMO_DIR)/session.secret
	@echo
	@echo "Start the service (leave it running; plain http on this machine only, hence the cookie's Secure flag off):"
	@echo "  DENIALOPS_QUEUE_DATA_DIR=$(DEMO_DIR) DENIALOPS_SESSION_SECRET=\$$(cat $(DEMO_DIR)/session.secret) DENIALOPS_SESSION_COOKIE_SECURE=false $(BIN)/denialops serve --port 8000"
	@echo "Then, in another shell, score the latest pending claim:"
	@echo "  curl -s -H \"Authorization: Bearer \$$(cat $(DEMO_DIR)/admin.key)\" -H 'Content-Type: application/json' --data @$(DEMO_DIR)/request.json http://127.0.0.1:8000/v1/claims/score"
	@echo "The README's 'The API by example' has a request for every route."
	@echo "People of tenant demo, one per role (passwords generated now and shown only here; the database keeps their hashes):"
	@$(BIN)/denialops demo people --tenant demo --by demo
	@echo "Open the web app in a browser on this machine and sign in as biller (or billing_lead) with the password above:"
	@echo "  http://127.0.0.1:8000/"
	@echo "Or sign in from a script:"
	@echo "  curl -s -c $(DEMO_DIR)/cookies --data-urlencode username=biller --data-urlencode password=PASSWORD http://127.0.0.1:8000/v1/session"
	@echo "  curl -s -b $(DEMO_DIR)/cookies http://127.0.0.1:8000/v1/session"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

# The web pages' tests drive Debian's Chromium (Playwright cannot download a browser here).
browser:
	@test -x $(CHROMIUM) || { echo "installing Debian's chromium for the browser tests"; \
	  $(SUDO) apt-get install -y -q chromium || { $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q chromium; }; }

test: lint browser
	$(BIN)/pytest

# The README's screenshots: the browser tests write them, this keeps the top of each page.
screenshots: $(STAMP) browser
	$(BIN)/pytest -q -p no:cacheprovider tests/serving/web
	$(BIN)/python docs/make_screenshots.py

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	cd benchmarks && ../$(BIN)/python bench_synth.py
	cd benchmarks && ../$(BIN)/python bench_reader.py
	cd benchmarks && ../$(BIN)/python bench_x12.py
	cd benchmarks && ../$(BIN)/python bench_features.py
	cd benchmarks && ../$(BIN)/python bench_train.py
	cd benchmarks && ../$(BIN)/python eval_fixes.py
	cd benchmarks && ../$(BIN)/python bench_serve.py
	cd benchmarks && ../$(BIN)/python bench_queue.py
	cd benchmarks && ../$(BIN)/python bench_web.py
	cd benchmarks && ../$(BIN)/python bench_rank.py
	cd benchmarks && ../$(BIN)/python bench_kpis.py
	cd benchmarks && ../$(BIN)/python bench_dashboards.py
	cd benchmarks && ../$(BIN)/python eval_queue.py
	cd benchmarks && ../$(BIN)/python bench_forecast.py
	cd benchmarks && ../$(BIN)/python bench_monitor.py

clean:
	rm -rf $(VENV) data/demo .pytest_cache .ruff_cache mlflow.db mlruns optuna

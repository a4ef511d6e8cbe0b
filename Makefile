# The two commands a new user needs:  `make run` (chat with the assistant)  and  `make test`.
# Each builds only what is missing or out of date, so running it again is fast.

SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
MODEL := models/assistant.tar.gz
KNOWLEDGE_DB := var/knowledge.db
KNOWLEDGE_FILES := $(shell find knowledge -name '*.yml')
STORE_CODE := actions/models.py actions/knowledge_files.py actions/reviews.py actions/loader.py safety/red_flags.py \
  $(wildcard migrations/versions/*.py)
TRAINING_FILES := config.yml domain.yml $(wildcard data/*.yml) nlu/intent_classifier.py
WEB_PACKAGES := web/node_modules/.package-lock.json
TOOLS_VENV := .tools-venv
TOOLS_INSTALLED := $(TOOLS_VENV)/.installed

export RASA_TELEMETRY_ENABLED := false
export TF_CPP_MIN_LOG_LEVEL := 2

.PHONY: help install knowledge train web browser checkers tools run serve test bench blind report clean

help: ## List the commands
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

# uv installs the same pinned packages as pip in about 15 s where pip took 80 to 120 s, most of
# a newcomer's wait. If uv cannot (a private package index configured for pip only, say), pip does.
UV_VERSION := 0.13.9
$(INSTALLED): requirements.txt constraints.txt scripts/find-python
	@python=$$(scripts/find-python) || exit 1; \
	  echo "==> Creating the virtual environment in $(VENV) with $$python"; \
	  "$$python" -m venv $(VENV)
	@echo "==> Installing Rasa and the other dependencies (under a minute the first time)"
	$(BIN)/pip install --progress-bar on "uv==$(UV_VERSION)"
	$(BIN)/uv pip install --python $(BIN)/python -r requirements.txt -c constraints.txt || { \
	  echo "==> uv could not install them; installing with pip instead (a few minutes)" >&2; \
	  $(BIN)/pip install --upgrade --progress-bar on "pip==24.0" && \
	  $(BIN)/pip install --progress-bar on -r requirements.txt -c constraints.txt; }
	$(BIN)/pip check
	@touch $@

install: $(INSTALLED) ## Create .venv with Python 3.10 and install the pinned dependencies

# The environment is an order-only prerequisite (after the |): it must exist, but installing a
# new test tool does not make the knowledge store or the model out of date.
$(KNOWLEDGE_DB): $(KNOWLEDGE_FILES) $(STORE_CODE) | $(INSTALLED)
	@echo "==> Building the knowledge store from knowledge/"
	$(BIN)/python -m actions.loader

knowledge: $(KNOWLEDGE_DB) ## Check the knowledge files and build the knowledge store

$(MODEL): $(TRAINING_FILES) | $(INSTALLED)
	@echo "==> Training the model (training data or config changed)"
	$(BIN)/rasa train --fixed-model-name assistant --out models

train: $(MODEL) ## Train the model, only if the training data or config changed

# The widget's socket.io client (and axe-core for its tests), exactly as web/package-lock.json says.
$(WEB_PACKAGES): web/package.json web/package-lock.json
	@command -v npm >/dev/null || { echo "The website widget needs Node.js 18 or later with npm" \
	  "(Debian: apt-get install nodejs npm)." >&2; exit 1; }
	@echo "==> Installing the website widget's packages from npm (socket.io-client, axe-core)"
	cd web && npm ci --no-audit --no-fund
	@touch $@

web: $(WEB_PACKAGES) ## Install the website widget's packages from npm (web/node_modules)

browser: ## Install Debian's Chromium for the browser tests, if it is missing
	@scripts/install-chromium

checkers: ## Install Debian's docker-compose and nginx, which check the production stack in the tests
	@scripts/install-docker-compose
	@scripts/install-nginx

# Test tools whose requirements Rasa's pins forbid (tools/requirements.txt), in their own
# environment on the system's Python: kubernetes-validate, for tests/test_kubernetes.py.
$(TOOLS_INSTALLED): tools/requirements.txt
	@command -v python3 >/dev/null || { echo "The test tools need python3 (Debian: apt-get install python3-venv)." >&2; exit 1; }
	@echo "==> Installing the test tools into $(TOOLS_VENV) (kubernetes-validate)"
	python3 -m venv $(TOOLS_VENV)
	$(TOOLS_VENV)/bin/pip install --progress-bar off -r tools/requirements.txt
	$(TOOLS_VENV)/bin/pip check
	@touch $@

tools: $(TOOLS_INSTALLED) ## Install the test tools Rasa's pins forbid into .tools-venv (kubernetes-validate)

run: $(KNOWLEDGE_DB) $(MODEL) $(WEB_PACKAGES) ## Chat in the terminal; website chat on http://localhost:8080
	@scripts/run.sh shell

serve: $(KNOWLEDGE_DB) $(MODEL) $(WEB_PACKAGES) ## Run the servers without a terminal chat (website, REST, chat apps)
	@scripts/run.sh serve

test: $(KNOWLEDGE_DB) $(MODEL) $(WEB_PACKAGES) $(TOOLS_INSTALLED) browser checkers ## Run the whole test suite
	$(BIN)/python -m pytest

bench: $(KNOWLEDGE_DB) | $(INSTALLED) ## Measure answer quality and speed against baselines; writes docs/benchmarks.md
	$(BIN)/python -m bench

blind: $(KNOWLEDGE_DB) $(MODEL) ## Score the assistant on the blind conversations (never tune on them)
	$(BIN)/python -m bench.conversations --out results/blind-conversations.json

# Reads the conversation store TRACKER_STORE_URL names, as the servers do; the range in days
# (UTC), e.g. `make report SINCE=2026-11-01 UNTIL=2026-11-30`; by default the last 30 days.
report: | $(INSTALLED) ## The content team's report from the conversations (TRACKER_STORE_URL; SINCE=, UNTIL=)
	$(BIN)/python -m reports $(if $(SINCE),--since $(SINCE)) $(if $(UNTIL),--until $(UNTIL)) $(if $(OUT),--out $(OUT))

clean: ## Remove the trained model, the knowledge store, the widget's packages, the test tools and test results
	rm -rf models var results .rasa web/node_modules $(TOOLS_VENV)

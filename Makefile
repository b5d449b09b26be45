# The two set-up commands: `make run` (server with a demo exam) and `make test` (whole suite).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# Debian packages the tests start for real: databases, cache, browser, media tools, and node
# for the pages' JS unit tests (tests/web/js/), coturn, the TURN relay for live video, and
# fonts-dejavu-core, the fonts the generated ID cards are printed in (tools/id_cards.py), and
# nginx-light, the reverse proxy tests/test_proxy.py runs deploy/nginx/openproctor.conf in.
TEST_DEBS := postgresql redis-server chromium ffmpeg nodejs coturn fonts-dejavu-core nginx-light
APT := DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 -y -q
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test test-wheel lint system-deps clean bench-live
AXE := .cache/axe/node_modules/axe-core/axe.min.js
AXE_VERSION := 4.14.1

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.server: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	$(BIN)/openproctor models install
	touch $@

$(VENV)/.test: pyproject.toml $(VENV)/.server
	$(BIN)/python -m pip install -q -e ".[test]"
	touch $@

# axe-core, the accessibility checker the browser tests run in the pages (tests/web/axe.py).
$(AXE):
	npm install --silent --no-audit --no-fund --prefix .cache/axe axe-core@$(AXE_VERSION)

# Links (demo, invitations, roster exports) name OPENPROCTOR_PUBLIC_URL; unless it is set, the
# address this server listens on: with HOST=0.0.0.0 or ::, this machine's network address.
run: $(VENV)/.server
	@export OPENPROCTOR_PUBLIC_URL="$${OPENPROCTOR_PUBLIC_URL:-$$($(BIN)/openproctor public-url --host '$(HOST)' --port '$(PORT)')}" && \
	$(BIN)/openproctor migrate && \
	$(BIN)/openproctor demo && \
	echo "Serving on $$OPENPROCTOR_PUBLIC_URL  (Ctrl+C to stop; data in $${OPENPROCTOR_DATA_DIR:-./data})" && \
	exec $(BIN)/openproctor serve --host '$(HOST)' --port '$(PORT)' --no-migrate

system-deps:
	@missing=""; for pkg in $(TEST_DEBS); do \
	  dpkg-query -W -f='$${Status}' $$pkg 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$pkg"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $(SUDO) $(APT) update && $(SUDO) $(APT) install --no-install-recommends $$missing; \
	fi

lint: $(VENV)/.test
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/mypy

# The browser tests mostly wait on Chromium and the network, so they run beside the rest in a
# process of their own (Playwright's event loop must not share a process with asyncio.run()).
test: system-deps $(VENV)/.test $(AXE) lint
	$(BIN)/python -m pytest tests/web -p no:cacheprovider > .pytest-web.log 2>&1 & web=$$!; \
	$(BIN)/python -m pytest --ignore=tests/web -m "not wheel"; rest=$$?; \
	wait $$web; browser=$$?; echo "--- tests/web:"; cat .pytest-web.log; \
	exit $$(( rest || browser ))

# The wheel built and installed into a fresh venv from the package index (tests/test_wheel.py):
# minutes of network and install time, so CI runs it beside `make test` rather than inside.
test-wheel: $(VENV)/.test
	$(BIN)/python -m pytest -m wheel tests/test_wheel.py

# Live video figures on this machine (tests/web/bench_live.py): first-frame times, the
# candidate's uplink, the proctor's downlink and CPU with 30 live tiles.
bench-live: system-deps $(VENV)/.test
	$(BIN)/python -m tests.web.bench_live

clean:
	rm -rf $(VENV) .cache/axe .pytest_cache .mypy_cache .ruff_cache .pytest-web.log

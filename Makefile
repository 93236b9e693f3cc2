# AnchorDesk — the two commands that matter:
#   make run    install what is missing, build, and open the studio (bundled relay on SQLite)
#   make test   install what is missing, then every check CI runs
# Both work on a fresh Debian 12 / Ubuntu machine as root or with sudo.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
CARGO ?= cargo
NPM ?= npm
TAURI_DRIVER_VERSION := 2.1.0
export PATH := $(HOME)/.cargo/bin:$(PATH)

.PHONY: run test demo deps deps-run tools ui ui-deps build release lint rust-test ui-check e2e bench bench-viewer clean

run: deps-run ui
	$(CARGO) run -p anchordesk

test: deps tools ui lint rust-test ui-check e2e
	@echo "make test: all checks passed"

demo: deps-run ui
	$(CARGO) build -p anchordesk -p anchordesk-relay
	scripts/demo.sh

deps:
	scripts/install-deps.sh test

deps-run:
	scripts/install-deps.sh run

# tauri-driver: WebDriver for the real studio window in end-to-end tests.
tools:
	@if ! tauri-driver --help >/dev/null 2>&1; then \
	  echo "installing tauri-driver $(TAURI_DRIVER_VERSION)"; \
	  $(CARGO) install tauri-driver --version $(TAURI_DRIVER_VERSION) --locked; \
	fi

ui-deps:
	@if [[ ! -d ui/node_modules ]] || [[ ui/package-lock.json -nt ui/node_modules/.package-lock.json ]]; then \
	  $(NPM) --prefix ui ci --no-audit --no-fund; \
	fi

# Both the relay (viewer page) and the studio window embed ui/dist at compile time.
ui: ui-deps
	$(NPM) --prefix ui run build

build: ui
	$(CARGO) build --workspace

release: deps-run ui
	$(CARGO) build --release -p anchordesk -p anchordesk-relay

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

# Also (re)generates ui/src/bindings from the Rust wire types (ts-rs). The relay's
# integration tests then run a second time against a real PostgreSQL server on loopback,
# each test in a fresh database of its own.
TEST_TIME_LIMIT ?= 20m

# Built first, then run under a time limit: a test that hangs fails the run with its name on
# screen instead of eating the CI budget.
rust-test:
	$(CARGO) test --workspace --no-run
	timeout --kill-after=30s $(TEST_TIME_LIMIT) $(CARGO) test --workspace
	ANCHORDESK_TEST_POSTGRES_URL="$$(scripts/test-postgres.sh start)" timeout --kill-after=30s $(TEST_TIME_LIMIT) $(CARGO) test -p anchordesk-relay --test '*'
	@if [[ "$${CI:-}" == "true" ]] && [[ -n "$$(git status --porcelain -- ui/src/bindings)" ]]; then \
	  echo "ui/src/bindings is stale: run cargo test and commit the result"; git status --short -- ui/src/bindings; exit 1; \
	fi

ui-check:
	$(NPM) --prefix ui run lint
	$(NPM) --prefix ui run typecheck
	$(NPM) --prefix ui run test

# Browser tests against the relay binary built by rust-test, in a network namespace of their
# own (Chromium's WebRTC offers no loopback candidates; see scripts/in-netns.sh). Needs root.
e2e:
	scripts/in-netns.sh $(NPM) --prefix ui run e2e

# Benchmarks run in release mode and record their results in bench/results/ (see bench/README.md).
bench: deps-run ui
	ANCHORDESK_BENCH_POSTGRES_URL="$$(scripts/test-postgres.sh start)" \
	  $(CARGO) run --release -p anchordesk-bench --bin flash-sale -- 2000 100
	ulimit -n 20000 && $(CARGO) run --release -p anchordesk-bench --bin events-fanout -- 5000 500 20
	ulimit -n 20000 && ANCHORDESK_BENCH_POSTGRES_URL="$$(scripts/test-postgres.sh start)" \
	  $(CARGO) run --release -p anchordesk-bench --bin cluster -- 1000 40 2000 100
	$(CARGO) run --release -p anchordesk-bench-fuzz --bin fuzz-inputs -- 300
	ulimit -n 20000 && $(CARGO) run --release -p anchordesk-bench --bin hostile -- 30
	$(CARGO) run --release -p anchordesk-bench --bin relay-media -- 100
	$(CARGO) run --release -p anchordesk-bench --bin engine -- 20
	$(CARGO) run --release -p anchordesk-bench --bin camera -- 15
	$(CARGO) run --release -p anchordesk-bench --bin abr
	$(CARGO) run --release -p anchordesk-bench --bin effects
	$(CARGO) run --release -p anchordesk-bench --bin studio -- 20 50
	$(CARGO) run --release -p anchordesk-bench --bin studio-window -- 20
	$(CARGO) run --release -p anchordesk-bench --bin clips -- 20 3
	$(CARGO) run --release -p anchordesk-bench --bin dual-canvas -- 20 3
	$(MAKE) bench-viewer

# The viewer page in Chromium against the release relay: first frame over WHEP and HLS, bundle
# size (bench/viewer/first-frame.ts). Needs root for its network namespace, like make e2e.
bench-viewer: deps-run ui
	$(CARGO) build --release -p anchordesk-relay
	ANCHORDESK_RELAY_BIN=$(CURDIR)/target/release/anchordesk-relay scripts/in-netns.sh $(NPM) --prefix ui run bench

clean:
	$(CARGO) clean
	rm -rf ui/dist ui/node_modules

# Kyso: `make run` and `make test` do everything on a fresh Debian machine.
SHELL := /bin/bash
export GOTOOLCHAIN := auto
GO ?= go
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)

.PHONY: run test bench demo build deps deps-test openapi fuzz clean replicas-test

## build: bin/kyso (the production binary) and bin/kyso-dev (dev setup, test data, demo, bench)
build:
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o bin/kyso ./cmd/kyso
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o bin/kyso-dev ./cmd/kyso-dev

deps:
	@scripts/deps.sh run

deps-test:
	@scripts/deps.sh test

## run: local SoftHSM2 token, dev key ceremony, demo principals, server on 127.0.0.1:8080
run: deps build
	@scripts/dev-run.sh

## test: every test, SQLite and PostgreSQL, SoftHSM2, pdfsig, openssl, chromium
test: deps-test
	@scripts/test.sh

## bench: Go benchmarks and load tests, as ratios to the raw HSM rate
bench: deps-test build
	@scripts/bench.sh

## demo: the five-step journey against the server `make run` started, then a month of synthetic history for the dashboard
demo: build
	./bin/kyso-dev demo
	./bin/kyso-dev demo --seed-history

## replicas-test: three replicas on PostgreSQL and a p11-kit-served HSM behind HAProxy, with a
## replica SIGKILL and an HSM restart under load; report in var/replicas/report.json
replicas-test: deps-test build
	@scripts/replicas-test.sh

## fuzz: run each fuzz target for a short while
fuzz:
	@scripts/fuzz.sh

openapi:
	cp api/openapi.json docs/openapi.json

clean:
	rm -rf bin

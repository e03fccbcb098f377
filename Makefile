# nscore — the two commands: `make run` and `make test`.
SHELL := /bin/bash
SWIFT ?= swift
RELEASE_BIN := .build/release/nscore

.PHONY: all deps build release run test bench clean help

all: build

help:
	@echo "make run    install missing packages, build release, start a local stack (Ctrl-C stops it)"
	@echo "make test   install missing packages, build, run every test"
	@echo "make bench  run the load benchmarks (Benchmarks/), printing ratios to the anchors"

deps:
	@scripts/deps.sh

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release --product nscore

run: release
	@scripts/run-local.sh $(RELEASE_BIN)

test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

bench: release
	@scripts/deps.sh --bench
	@Benchmarks/tcp-proxy.sh $(RELEASE_BIN)

clean:
	rm -rf .build run

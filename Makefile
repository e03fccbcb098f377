# nscore — the two commands: `make run` and `make test`.
SHELL := /bin/bash
SWIFT ?= swift
RELEASE_BIN := .build/release/nscore

PREFIX ?= /usr/local

.PHONY: all deps build release install run test bench bench-resp bench-agent bench-resp-proxy bench-ldap bench-module bench-edge clean help

all: build

help:
	@echo "make run    install missing packages, build release, start a local stack (Ctrl-C stops it)"
	@echo "make test   install missing packages, build, run every test"
	@echo "make install  build release and install to PREFIX (/usr/local) and /etc (DESTDIR= to stage)"
	@echo "make bench  run the load benchmarks (Benchmarks/), printing ratios to the anchors"
	@echo "make bench-resp  RESP client vs redis-benchmark vs redis-py (Benchmarks/resp-client.sh)"
	@echo "make bench-resp-proxy  nscore resp-proxy vs tcp-proxy vs haproxy, redis direct as the ceiling (Benchmarks/resp-proxy.sh)"
	@echo "make bench-agent  nscore agent: per-task overhead vs the step alone, burst throughput, RSS (Benchmarks/agent.sh)"
	@echo "make bench-ldap  nscore ldapproxy vs nginx stream vs haproxy, clear and TLS upstream, slapd direct as the ceiling (Benchmarks/ldap-proxy.sh)"
	@echo "make bench-edge  nscore edge vs nginx and haproxy TLS termination: keep-alive req/s, new-connection handshakes/s, RSS (Benchmarks/edge.sh)"
	@echo "make bench-module  module install/remove from a local registry, median of 10, split by phase (Benchmarks/module-install.sh; root)"
	@echo "make fuzz-resp  libFuzzer on the RESP decoder for FUZZ_SECONDS (default 600)"
	@echo "make fuzz-json  libFuzzer on the JSON parser for FUZZ_SECONDS (default 600)"
	@echo "make fuzz-request, make fuzz-schema, make fuzz-stepcommand, make fuzz-ldap, make fuzz-sealed, make fuzz-edge, make fuzz-http  the same for client requests, the JSON Schema validator, the agent's command pipe, LDAP messages, sealed values, the edge's routes/IP ranges/PEM, HTTP/1.1 heads and bodies"

deps:
	@scripts/deps.sh

build: deps
	$(SWIFT) build

# Release builds skip Swift's dynamic exclusivity checks in every module, the
# dependencies' (NIO, NIOSSL, NIOHTTP2, …) as well as ours: they were 23 % of
# the edge's user CPU per keep-alive request and 4-5 % of the LDAP proxy's CPU
# per operation (Benchmarks/RESULTS.md). Debug builds, and so every test run,
# keep them; the compile-time exclusivity checks stay on everywhere.
RELEASE_FLAGS := -Xswiftc -enforce-exclusivity=unchecked

release: deps
	$(SWIFT) build -c release --product nscore $(RELEASE_FLAGS)

install: release
	@PREFIX=$(PREFIX) scripts/install.sh $(RELEASE_BIN)

run: release
	@scripts/run-local.sh $(RELEASE_BIN)

test: deps
	$(SWIFT) build --build-tests
	@scripts/test.sh

bench: release
	@scripts/deps.sh --bench
	@Benchmarks/tcp-proxy.sh $(RELEASE_BIN)

bench-resp: deps
	@scripts/deps.sh --bench
	cd Benchmarks && $(SWIFT) build -c release --product RESPClientLoad
	@Benchmarks/resp-client.sh

bench-resp-proxy: release
	@scripts/deps.sh --bench
	@Benchmarks/resp-proxy.sh $(RELEASE_BIN)

bench-agent: release
	cd Benchmarks && $(SWIFT) build -c release --product AgentLoad
	@Benchmarks/agent.sh $(RELEASE_BIN)

bench-ldap: release
	@scripts/deps.sh --bench
	cd Benchmarks && $(SWIFT) build -c release --product LDAPLoad
	@Benchmarks/ldap-proxy.sh $(RELEASE_BIN)

bench-edge: release
	@scripts/deps.sh --bench
	@Benchmarks/edge.sh $(RELEASE_BIN)

bench-module: release
	@Benchmarks/module-install.sh $(RELEASE_BIN)

FUZZ_SECONDS ?= 600
FUZZER_resp := RESPTokenFuzzer
FUZZER_json := JSONFuzzer
FUZZER_schema := SchemaFuzzer
FUZZER_request := RESPRequestFuzzer
FUZZER_stepcommand := StepCommandFuzzer
FUZZER_ldap := LDAPMessageFuzzer
FUZZER_sealed := SealedValueFuzzer
FUZZER_edge := EdgeInputFuzzer
FUZZER_http := HTTPWireFuzzer
# make fuzz-resp | fuzz-json | fuzz-request | fuzz-schema | fuzz-stepcommand | fuzz-ldap | fuzz-sealed | fuzz-edge | fuzz-http: libFuzzer (+ASan) on one parser, corpus grown in Fuzz/corpus/<name>-run.
fuzz-%: deps
	cd Fuzz && $(SWIFT) build -c debug --product $(FUZZER_$*) -Xswiftc -sanitize=fuzzer,address -Xswiftc -use-ld=lld
	mkdir -p Fuzz/crashes Fuzz/corpus/$*-run
	Fuzz/.build/debug/$(FUZZER_$*) Fuzz/corpus/$*-run Fuzz/corpus/$* -max_total_time=$(FUZZ_SECONDS) \
	  -max_len=4096 -artifact_prefix=Fuzz/crashes/ -print_final_stats=1

clean:
	rm -rf .build run

# Developer and CI entry points; `make` alone lists them. The work is done by scripts/ and bench/.
SHELL := /bin/bash
.DEFAULT_GOAL := help
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CTEST_ARGS ?=
# Warnings only: cmake re-configures on every make, and its status lines are noise.
CMAKE_CONFIGURE := cmake --log-level=WARNING -S .
# The build's own make must not think it is nested in this one (it would print every directory).
CMAKE_BUILD := env -u MAKEFLAGS -u MAKELEVEL cmake --build

.PHONY: help deps build build-test run test bench stop-db clean

help:
	@echo "make run      install missing packages, build build/, start the private PostgreSQL"
	@echo "              (.data/pg, when DATABASE_URL is unset), migrate, seed and serve h2o.conf"
	@echo "make test     build build-test/ with ASan+UBSan and run ctest against a throw-away"
	@echo "              PostgreSQL and Redis (CTEST_ARGS='-R name' selects tests)"
	@echo "make bench    bounded loopback load (h2load, wrk, pgbench) on a fresh Release build"
	@echo "make build    install missing packages and build the Release binary in build/"
	@echo "make stop-db  stop the private PostgreSQL that make run leaves running"
	@echo "make clean    remove build/ and build-test/ (keeps .data/: the database and certificate)"

deps:
	@bash scripts/deps.sh

# flock: two makes at once (make test twice, make run beside make bench) share a build dir.
build: deps
	@mkdir -p build
	@flock build/.lock $(CMAKE_CONFIGURE) -B build -DCMAKE_BUILD_TYPE=Release -DHS_TESTS=OFF
	@flock build/.lock $(CMAKE_BUILD) build -j $(JOBS)

# -O1 rather than -O0: keeps asserts and readable sanitizer traces, but also the warnings that
# only optimisation finds, which -Werror would otherwise first report in the Release build.
build-test: deps
	@mkdir -p build-test
	@flock build-test/.lock $(CMAKE_CONFIGURE) -B build-test -DCMAKE_BUILD_TYPE=Debug \
		-DCMAKE_C_FLAGS=-O1 -DHS_SANITIZE=ON -DHS_TESTS=ON
	@flock build-test/.lock $(CMAKE_BUILD) build-test -j $(JOBS)

run: build
	@bash scripts/run.sh

test: build-test
	@bash scripts/test.sh $(CTEST_ARGS)

bench: build
	@bash bench/run.sh

stop-db:
	@bash scripts/pg.sh stop .data/pg
	@echo "the private PostgreSQL (.data/pg) is stopped"

clean:
	rm -rf build build-test

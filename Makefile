# kalm: build, run and test. `make run` and `make test` are the two commands
# the README starts with.

GO      ?= go
# framework/nn multiplies with its own AVX2/AVX-512 kernels, faster than
# Debian's OpenBLAS on this project's machines (docs/benchmarks.md). Where the
# CPU lacks AVX2 and libopenblas-dev is installed, build with OpenBLAS instead
# of gonum's pure-Go fallback. `make TAGS=openblas` forces it.
# The linker's libopenblas.so, in whatever library directory this
# architecture uses (x86_64-linux-gnu, aarch64-linux-gnu, ...).
HAVE_OPENBLAS := $(shell { ldconfig -p || /sbin/ldconfig -p; } 2>/dev/null | grep -q 'libopenblas\.so ' && echo yes)
OPENBLAS := $(if $(HAVE_OPENBLAS),$(shell grep -qw avx2 /proc/cpuinfo 2>/dev/null || echo openblas))
# MuJoCo 2.2 (libmujoco-dev) for the tabletop env and clevr's `physics: mujoco`:
# built in where the linker finds libmujoco.so (kalm lists them as unavailable
# elsewhere). `make TAGS=` leaves it out.
HAVE_MUJOCO := $(shell { ldconfig -p || /sbin/ldconfig -p; } 2>/dev/null | grep -q 'libmujoco\.so ' && echo yes)
comma   := ,
TAGS    ?= $(OPENBLAS)$(if $(HAVE_MUJOCO),$(if $(OPENBLAS),$(comma))mujoco)
# HDF5 (libhdf5-dev) for `kalm dataset import` of D4RL and Minari .hdf5 files:
# built in where the linker finds libhdf5_serial.so, Debian's serial HDF5 that
# gonum.org/v1/hdf5 links (elsewhere the import says how to get it).
HAVE_HDF5 := $(shell { ldconfig -p || /sbin/ldconfig -p; } 2>/dev/null | grep -q 'libhdf5_serial\.so ' && echo yes)
ifeq ($(origin TAGS),file)
TAGS    := $(TAGS)$(if $(HAVE_HDF5),$(if $(TAGS),$(comma))hdf5)
endif
BIN     ?= bin/kalm
# Stamp the commit into the binary: built-in plugins report it as their version.
VCS     := $(shell git rev-parse --git-dir >/dev/null 2>&1 && echo true || echo false)

.PHONY: build run test bench proto gridgoal

# The first build compiles SQLite's C source through cgo (mattn/go-sqlite3)
# and prints nothing meanwhile: say so when Go's build cache lacks it.
# Measured with `GOCACHE=$(mktemp -d) make build` on this project's 2-core
# machine: 137 s (177 s user, 56 s system); a rebuild with the cache: 11 s.
build:
	@if [ "$$($(GO) list -tags '$(TAGS)' -f '{{.Stale}}' github.com/mattn/go-sqlite3 2>/dev/null)" != false ]; then \
		echo "building $(BIN): the first build compiles SQLite (C, through cgo): about 2.5 minutes on 2 cores; later builds take seconds"; fi
	$(GO) build -buildvcs=$(VCS) -tags '$(TAGS)' -o $(BIN) ./cmd/kalm

# The main job on embedded defaults: the shipped `quick` experiment, its
# artifacts and SQLite results under ./.kalm, then its table.
run: build
	@[ -e "$${WNSEARCHDIR:-/usr/share/wordnet}/data.noun" ] || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "tinylm's language prior reads Debian's WordNet: apt-get install wordnet-base"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wordnet-base; \
		else \
			echo "tinylm's language prior reads Debian's WordNet: sudo apt-get install wordnet-base" \
				"(or bin/kalm run quick -j 2 --set lm.config.prior=none)" >&2; exit 1; \
		fi; }
	$(BIN) run quick -j 2

# Every test of the module and of the third-party example plugin's own module.
test:
	$(GO) vet ./...
	$(GO) test -count=1 ./...
	cd plugins/contrib/gridgoal && $(GO) test -count=1 ./...
	# The AVX2 kernels too (the AVX-512 ones are the default on this CPU).
	KALM_NO_AVX512=1 $(GO) test -count=1 ./framework/nn ./plugins/bc ./plugins/td3bc ./plugins/cql
	# The OpenBLAS backend too, where the library is installed.
	if [ -n "$(HAVE_OPENBLAS)" ]; then $(GO) test -tags openblas -count=1 ./framework/nn ./plugins/bc; fi
	# The MuJoCo binding, tabletop and clevr on MuJoCo, where libmujoco-dev is installed.
	if [ -n "$(HAVE_MUJOCO)" ]; then $(GO) vet -tags mujoco ./plugins/... ./cmd/kalm && \
		$(GO) test -tags mujoco -count=1 ./plugins/internal/mujoco ./plugins/tabletop && \
		$(GO) test -tags mujoco -count=1 -run MuJoCo ./plugins/clevr; fi
	# The HDF5 importer, where libhdf5-dev is installed.
	if [ -n "$(HAVE_HDF5)" ]; then $(GO) vet -tags hdf5 ./framework/dataset/hdf5 ./cmd/kalm && \
		$(GO) test -tags hdf5 -count=1 ./framework/dataset/hdf5 && $(GO) test -tags hdf5 -count=1 -run Dataset ./cmd/kalm; fi
	# The pure-Go build (gonum's Sgemm), what CPUs without AVX2 run.
	$(GO) test -tags purego -count=1 ./framework/nn ./plugins/bc
	# arm64 under qemu-user, where it is installed: pure Go there, and Go
	# fuses multiply-adds on arm64, so the golden tests meet other rounding.
	if command -v qemu-aarch64 >/dev/null; then GOARCH=arm64 CGO_ENABLED=0 $(GO) test -exec qemu-aarch64 -count=1 ./framework/nn ./plugins/td3bc; fi

bench: build
	$(BIN) bench algos

# Regenerate the protocol code (needs protoc: apt-get install protobuf-compiler).
proto:
	$(GO) generate ./framework/internal/pb

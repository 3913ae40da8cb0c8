# taylor-mlir: the two commands are `make demo` and `make test`.
#
#   make demo    set up (if needed), then run the demonstration
#   make test    set up (if needed), then run every test (lit + pytest)
#
# Set-up: a virtual environment in .venv with the pinned requirements, and
# `pip install .` of this project built in the persistent build/skbuild
# directory (incremental after the first build). Rebuilds happen only when a
# source file changed.

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
BUILD_DIR := build/skbuild
JOBS ?= 2

export CMAKE_BUILD_PARALLEL_LEVEL := $(JOBS)

SOURCES := $(shell find CMakeLists.txt pyproject.toml cmake include lib tools python \
	-type f -not -name '*.pyc' -not -path '*/__pycache__/*' 2>/dev/null)

.PHONY: demo test setup install lit pytest docs format clean distclean bench

demo: install
	$(BIN)/python examples/demo.py
	$(BIN)/python examples/pinn_poisson.py --quick

test: install
	$(MAKE) --no-print-directory lit pytest

setup: $(VENV)/.deps

install: $(VENV)/.installed

$(VENV)/.deps: requirements.txt
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found (Python 3.11 is required)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.installed: $(VENV)/.deps $(SOURCES)
	@echo "== building and installing taylor-mlir (build dir: $(BUILD_DIR))"
	@start=$$(date +%s); \
	$(BIN)/python -m pip install --quiet --disable-pip-version-check \
	  --no-build-isolation --no-deps \
	  --config-settings=build-dir=$(BUILD_DIR) . && \
	echo "== taylor-mlir installed in $$(( $$(date +%s) - start )) s"
	touch $@

lit:
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/lit -sv test

pytest:
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest -q test/numerics test/compile test/gpu

# Benchmarks (benchmarks/README.md): GEMM throughput, standard vs collapsed
# Taylor mode (options: BENCH_ARGS, e.g. `make bench BENCH_ARGS="--batch 2
# --repeats 3"`), then every operator side by side with torch.func,
# jet-for-pytorch and folx (options: OPERATORS_ARGS, e.g.
# `make bench OPERATORS_ARGS="--quick"`; it sets up its own Python 3.12
# environment for the peers in build/peers/py312 the first time, ~5 GB),
# then one training step (operator + loss + backward) side by side with the
# same peers (options: TRAINING_ARGS, e.g. `make bench TRAINING_ARGS="--quick"`).
bench: install $(VENV)/.bench-deps
	$(BIN)/python benchmarks/gemm_throughput.py
	$(BIN)/python benchmarks/collapse_mlp.py $(BENCH_ARGS)
	$(BIN)/python benchmarks/profile_stages.py
	$(BIN)/python benchmarks/operators.py $(OPERATORS_ARGS)
	$(BIN)/python benchmarks/training_step.py $(TRAINING_ARGS)
	$(BIN)/python benchmarks/call_overhead.py
	$(BIN)/python benchmarks/compile_cache.py
	$(BIN)/python benchmarks/taylorseer/bench.py $(TAYLORSEER_ARGS)

$(VENV)/.bench-deps: benchmarks/requirements.txt $(VENV)/.deps
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r benchmarks/requirements.txt
	touch $@

# Regenerates the dialect and pass documentation from ODS into docs/generated.
docs: install
	$(BIN)/cmake --build $(BUILD_DIR) --target mlir-doc
	mkdir -p docs/generated
	cp $(BUILD_DIR)/docs/Taylor/*.md docs/generated/

format:
	clang-format -i $$(git ls-files '*.cpp' '*.h')
	$(BIN)/python -m black python test examples 2>/dev/null || true

clean:
	rm -rf $(BUILD_DIR) $(VENV)/.installed

distclean:
	rm -rf build $(VENV)

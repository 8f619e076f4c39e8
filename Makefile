# The project's one task runner: the README and .ci/run call these targets.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STANDINS ?= python3.11:x86_64 python3.11:arm64 python3.13:x86_64 python3.9:x86_64
PYTEST_ARGS ?=

.PHONY: install docker standins lint typecheck test-unit test-integration test bench bench-compare clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

install: $(PY)
	$(PY) -m pip install --quiet -e '.[test]'

# A Docker engine with buildx, compose and QEMU (Debian hosts; elsewhere start Docker yourself).
docker:
	@if docker info >/dev/null 2>&1 && docker buildx version >/dev/null 2>&1; then \
		echo "Docker engine already running"; \
	else \
		.ci/setup-docker; \
	fi

# Lambda stand-in base images built from Debian packages (no registry needed).
standins: docker
	scripts/build-standin-images $(STANDINS)

lint: install
	$(VENV)/bin/ruff check builder tests bench bench/compare bench/build-all-cost
	$(VENV)/bin/ruff format --check builder tests bench bench/compare bench/build-all-cost

typecheck: install
	$(VENV)/bin/mypy builder

test-unit: install
	$(PY) -m pytest tests/unit -q $(PYTEST_ARGS)

test-integration: install standins
	LAMBDA_BUILDER_REQUIRE_DOCKER=1 $(PY) -m pytest tests/integration -q $(PYTEST_ARGS)

# Everything CI runs, on a fresh machine: engine, images, lint, types, all tests.
test: install standins lint typecheck
	LAMBDA_BUILDER_REQUIRE_DOCKER=1 $(PY) -m pytest tests -q $(PYTEST_ARGS)

test-network: install
	$(PY) -m pytest tests -q -m network $(PYTEST_ARGS)

bench: install
	for bench in bench/*.py; do echo "== $$bench"; $(PY) $$bench || exit 1; done

# Against `sam build --use-container` and uv (Docker, QEMU for arm64, PyPI; minutes, not seconds):
# make bench-compare COMPARE_ARGS="--workloads web --archs x86_64 --json results.json"
COMPARE_ARGS ?=
bench-compare: install
	$(PY) bench/compare $(COMPARE_ARGS)

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache

# Two commands do all set-up: `make demo` and `make test`.
# Both create .venv when missing and install the locked dependencies with uv.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9

.PHONY: demo test lint typecheck sysdeps install clean bench

$(BIN)/uv:
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.installed: pyproject.toml uv.lock | $(BIN)/uv
	$(BIN)/uv sync --frozen --inexact --quiet
	touch $@

install: $(VENV)/.installed

# Debian packages the tests need: Chromium (browser tests and report screenshots), gdal-bin (ogrinfo),
# poppler-utils (pdftoppm) and a font. Installed only when missing (needs root, as in CI).
SYSDEPS := chromium gdal-bin poppler-utils fonts-dejavu-core
sysdeps:
	@missing=""; for p in $(SYSDEPS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

demo: install
	$(BIN)/berthwatch demo

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

test: install sysdeps lint
	$(BIN)/pytest

# Benchmarks print figures (see bench/README.md); they take several minutes each.
bench: install
	$(BIN)/python bench/detection.py
	$(BIN)/python bench/containers.py
	$(BIN)/python bench/trips.py
	$(BIN)/python bench/trips.py --detector real
	$(BIN)/python bench/pipeline.py
	$(BIN)/python bench/gdal_threads.py

clean:
	rm -rf $(VENV) berthwatch-data .pytest_cache .mypy_cache .ruff_cache

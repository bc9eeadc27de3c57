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

# Debian packages the tests need: Chromium (browser tests), gdal-bin (ogrinfo), poppler-utils (pdftoppm).
sysdeps:
	@missing=""; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v ogrinfo >/dev/null || missing="$$missing gdal-bin"; \
	command -v pdftoppm >/dev/null || missing="$$missing poppler-utils"; \
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

bench: install
	$(BIN)/python bench/detection.py

clean:
	rm -rf $(VENV) berthwatch-data .pytest_cache .mypy_cache .ruff_cache

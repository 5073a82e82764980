# The two commands of the README: `make demo` and `make test`. Both set everything up first.
.PHONY: setup demo test test-fast clock-guard lint bench

setup:
	bash scripts/setup.sh

demo: setup
	.venv/bin/ews demo

lint: setup
	.venv/bin/ruff check src flows tests scripts
	.venv/bin/mypy
	.venv/bin/lint-imports

# Everything, then the clock guard: the tests that start no server (and take no large input)
# again, with the clock a year ahead (Debian's faketime), so a test that mixes a fixed date
# with the wall clock fails today and not on the day its date passes.
test: lint
	.venv/bin/pytest --durations=25
	$(MAKE) --no-print-directory clock-guard

clock-guard:
	FAKETIME_DONT_RESET=1 faketime -f "+365d" .venv/bin/pytest -q -m "not server and not slow and not realclock" \
		-p no:cacheprovider tests/unit tests/integration

# The inner loop (under a minute on two cores): unit tests and the integration tests that need nothing
# (no server, no LibreOffice, no OCR) and are not slow by design. The markers: pyproject.toml.
FAST = not server and not libreoffice and not ocr and not slow
# Bytecode is cached even where the environment says not to (PYTHONDONTWRITEBYTECODE): a second
# run then skips recompiling and re-rewriting every module, about 4 s of the minute.
test-fast:
	env -u PYTHONDONTWRITEBYTECODE .venv/bin/pytest -q -m "$(FAST)" tests/unit tests/integration

bench: setup
	.venv/bin/python -m scripts.bench

# Two commands do everything on a fresh Debian 12 machine: `make demo` and `make test`.
# Each target installs what it needs first, and is quick when all is installed.

SHELL := /bin/bash
.DEFAULT_GOAL := help

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# OCR (Tesseract + Japanese), PDF rasteriser, fonts for printing (IPAex; Liberation Sans Narrow and
# Noto Sans CJK SC / KR for the English, Chinese and Korean cards) and for the
# scan simulator's handwriting (Klee, Seto, Kiloji, and Y.OzFont for its varied writers), PostgreSQL
# for the store tests, Chromium for the review page's browser test.
APT_PACKAGES := tesseract-ocr tesseract-ocr-jpn poppler-utils fonts-ipaexfont fonts-liberation fonts-noto-cjk \
	fonts-klee fonts-seto \
	fonts-kiloji fonts-yozvox-yozfont-standard-kana postgresql python3-venv chromium

# uv from PATH, else a private copy in .tools/ (Debian's Python refuses `pip install` outside a venv)
UV := $(or $(shell command -v uv 2>/dev/null),.tools/bin/uv)
export UV_PYTHON_DOWNLOADS := never
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_HOME := data/demo
J := JUNKAI_HOME=$(DEMO_HOME) $(BIN)/junkai
BENCH_PREMISES ?= 600000

.PHONY: help setup system-deps python-deps demo test test-fast bench clean

help:
	@echo "make demo   # 依存を導入し、デモの警察署を作成して概要を表示"
	@echo "make test   # 依存を導入し、全テストを実行"
	@echo "make test-fast  # 時間のかかるテスト (slow) を除いて実行 (開発中の確認用)"
	@echo "make bench  # ベンチマーク (bench/results.json, bench/results.md)"

system-deps:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "apt-get install $$missing"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi

.tools/bin/uv:
	$(PYTHON) -m venv .tools
	.tools/bin/pip install -q uv

# --compile-bytecode, and the project's own modules compiled too: a command run by an operator whose OS account
# cannot write here would otherwise compile every module it imports on each start (about 2 s of a `junkai read`)
python-deps: $(UV)
	$(UV) sync --frozen --quiet --compile-bytecode --python $(PYTHON)
	$(BIN)/python -m compileall -q junkai ocr flows

# the digit model is fitted once here (a minute or two) and kept in the user's cache, so no reader fits it
setup: system-deps python-deps
	$(BIN)/python -m ocr.digits --fit

demo: setup
	rm -rf $(DEMO_HOME)
	@# --users: the OS account running the demo is its administrator and custodian (bound to it);
	@# a chief, a handler, a beat officer and HQ besides, who act once bound to OS accounts of their own
	$(J) seed --premises 150 --stations 1 --seed 1 --users
	@# print a beat's pre-filled cards and a few blank ones, let simulated residents fill them in, scan them
	cards=$$($(J) print cards --beat S01-P01-B1 | tail -n 1) && \
	blank=$$($(J) print cards --blank 3 --beat S01-P01-B1 | tail -n 1) && \
	$(J) simulate "$$cards" --out $(DEMO_HOME)/returned/cards --seed 1 && \
	$(J) simulate "$$blank" --out $(DEMO_HOME)/returned/blank --seed 2
	$(J) ingest $(DEMO_HOME)/returned
	$(J) review list
	$(J) overdue --station S01 --out $(DEMO_HOME)/overdue.csv
	$(J) overdue --beat S01-P01-B1 --format pdf
	$(J) report chief --station S01 --period $$(date +%Y-%m)
	@# who acts is the OS account running junkai: naming another user is refused, and audited
	$(J) user list
	! $(J) --as "本部 デモ" history 1
	$(J) run nightly --station S01
	@# every print, export, decision and refusal above is in the keyed, anchored audit log
	$(J) audit verify

# the import contracts of pyproject.toml first: which way imports go is part of the design
test: setup
	$(BIN)/lint-imports --no-cache
	$(BIN)/python -m pytest -q

# everything but the tests marked slow (many pages through Tesseract, Prefect, Chromium, big stations)
test-fast: setup
	$(BIN)/lint-imports --no-cache
	$(BIN)/python -m pytest -q -m "not slow"

bench: setup
	$(BIN)/python -m bench.run --premises $(BENCH_PREMISES)

clean:
	rm -rf $(DEMO_HOME) bench/tmp output/*.pdf

# What the real-browser test (tests/e2e/test_survey_browser.py) needs. Included by the top-level Makefile.
#
#   make browser-deps   Debian's chromium (apt-get, as root) when /usr/bin/chromium is missing, and the
#                       pinned axe-core under .tools/axe when its axe.min.js is missing.
#
# Playwright drives that chromium through `executable_path`; `playwright install` is never needed.

CHROMIUM ?= /usr/bin/chromium
AXE_CORE_VERSION := 4.10.3
AXE_JS := .tools/axe/node_modules/axe-core/axe.min.js

.PHONY: browser-deps
browser-deps: $(AXE_JS) ## Chromium (Debian package) and axe-core for the browser test
	@if [ ! -x "$(CHROMIUM)" ]; then \
		echo "installing chromium with apt-get"; \
		DEBIAN_FRONTEND=noninteractive apt-get update -q && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium; \
	fi

$(AXE_JS):
	npm install --prefix .tools/axe --no-audit --no-fund axe-core@$(AXE_CORE_VERSION)

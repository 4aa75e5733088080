# What the real-browser tests (tests/e2e/test_survey_browser.py, test_email_clients.py) need, and the
# email screenshots in docs/img. Included by the top-level Makefile.
#
#   make browser-deps   Debian's chromium (apt-get, as root) when /usr/bin/chromium is missing, and the
#                       pinned axe-core under .tools/axe when its axe.min.js is missing.
#   make email-screenshots  the survey email at desktop and phone width, with and without its style
#                       block, forced dark: docs/img/email-*.png (closeloop preview --screenshots).
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

.PHONY: email-screenshots
email-screenshots: $(VENV_STAMP) browser-deps ## the survey email as mail clients show it (NPS, English) -> docs/img/email-*.png
	.venv/bin/closeloop preview --locale en --survey-type nps --screenshots docs/img

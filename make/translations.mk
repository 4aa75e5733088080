# Message catalogs of the templates (templates/locales). Included by the top-level Makefile.
#
# One catalog domain per part of the product, each with its mapping file templates/babel/<domain>.cfg:
# closeloop (the survey email, templates/email), pages (templates/pages), alerts (templates/alerts). A
# template reads its own folder's catalog only (closeloop.adapters.rendering.CATALOG_DOMAINS): the same
# English sentence is translated once per part, and the tests fail when two parts word it differently
# without a msgctxt (pgettext) saying why.
#
#   make translations-extract   templates -> templates/locales/<domain>.pot
#   make translations-update    .pot -> every locales/<lang>/LC_MESSAGES/<domain>.po (new entries empty)
#   make translations-compile   every .po -> .mo (what the renderer loads; commit both)
#   make translations-check     every catalog complete, not fuzzy, placeholders intact, .mo up to date
#   make translations-init LOCALE=nl  start a new language (or LOCALE=pt_BR, a regional variant)
#   make translations-review LOCALE=it  every email, page, alert and note in one locale -> review/it/
#
# After changing wording in any template: extract, update, translate, compile, check, review.

PYBABEL ?= .venv/bin/pybabel
TRANSLATIONS_PYTHON ?= .venv/bin/python
TEMPLATES_DIR ?= templates
LOCALES_DIR := $(TEMPLATES_DIR)/locales
CATALOG_DOMAINS := $(patsubst $(TEMPLATES_DIR)/babel/%.cfg,%,$(wildcard $(TEMPLATES_DIR)/babel/*.cfg))

.PHONY: translations-extract translations-update translations-compile translations-check translations-init \
	translations-review

translations-extract:
	for domain in $(CATALOG_DOMAINS); do \
		(cd $(TEMPLATES_DIR) && $(abspath $(PYBABEL)) extract --mapping-file=babel/$$domain.cfg \
			--output-file=locales/$$domain.pot --sort-by-file --add-comments=Translators: \
			--project=closeloop --copyright-holder="closeloop contributors" \
			--msgid-bugs-address="https://github.com/closeloop/closeloop/issues" --width=100 .) || exit 1; \
	done

translations-update:
	for domain in $(CATALOG_DOMAINS); do \
		$(PYBABEL) update --input-file=$(LOCALES_DIR)/$$domain.pot --output-dir=$(LOCALES_DIR) \
			--domain=$$domain --ignore-obsolete --no-fuzzy-matching --width=100 || exit 1; \
		$(TRANSLATIONS_PYTHON) -m closeloop_cli.translations fill-source \
			$(LOCALES_DIR)/en/LC_MESSAGES/$$domain.po || exit 1; \
	done
	# English is the source language: its catalogs repeat each msgid, so wording can change without
	# touching templates (fill-source fills the new entries; translators fill the other languages).

translations-compile:
	for domain in $(CATALOG_DOMAINS); do \
		$(PYBABEL) compile --directory=$(LOCALES_DIR) --domain=$$domain --statistics || exit 1; \
	done

translations-check:
	$(TRANSLATIONS_PYTHON) -m closeloop_cli.translations check $(LOCALES_DIR)

translations-init:
	@test -n "$(LOCALE)" || (echo "usage: make translations-init LOCALE=<language code, e.g. nl or pt_BR>" && exit 2)
	for domain in $(CATALOG_DOMAINS); do \
		$(PYBABEL) init --input-file=$(LOCALES_DIR)/$$domain.pot --output-dir=$(LOCALES_DIR) \
			--domain=$$domain --locale=$(LOCALE) --width=100 || exit 1; \
	done

translations-review:
	@test -n "$(LOCALE)" || (echo "usage: make translations-review LOCALE=<shipped locale, e.g. it or pt-BR>" && exit 2)
	$(TRANSLATIONS_PYTHON) -m closeloop_cli.preview --templates $(TEMPLATES_DIR) \
		--locale $(LOCALE) --all review/$(LOCALE)

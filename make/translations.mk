# Message catalogs of the email templates (templates/locales). Included by the top-level Makefile.
#
#   make translations-extract   templates -> templates/locales/closeloop.pot
#   make translations-update    .pot -> every locales/<lang>/LC_MESSAGES/closeloop.po (new entries empty)
#   make translations-compile   every .po -> .mo (what the renderer loads; commit both)
#   make translations-check     every catalog complete, not fuzzy, placeholders intact, .mo up to date
#   make translations-init LOCALE=nl  start a new language from the .pot
#
# After changing wording in templates/email/survey_copy.j2: extract, update, translate, compile.

PYBABEL ?= .venv/bin/pybabel
TRANSLATIONS_PYTHON ?= .venv/bin/python
TEMPLATES_DIR ?= templates
LOCALES_DIR := $(TEMPLATES_DIR)/locales
CATALOG_DOMAIN := closeloop
CATALOG_TEMPLATE := $(LOCALES_DIR)/$(CATALOG_DOMAIN).pot

.PHONY: translations-extract translations-update translations-compile translations-check translations-init

translations-extract:
	cd $(TEMPLATES_DIR) && $(abspath $(PYBABEL)) extract --mapping-file=babel.cfg \
		--output-file=locales/$(CATALOG_DOMAIN).pot --sort-by-file --add-comments=Translators: \
		--project=closeloop --copyright-holder="closeloop contributors" \
		--msgid-bugs-address="https://github.com/closeloop/closeloop/issues" --width=100 .

translations-update:
	$(PYBABEL) update --input-file=$(CATALOG_TEMPLATE) --output-dir=$(LOCALES_DIR) \
		--domain=$(CATALOG_DOMAIN) --ignore-obsolete --no-fuzzy-matching --width=100
	# English is the source language: its catalog repeats each msgid, so wording can change without
	# touching templates. Fill the new entries (translators fill the other languages).
	$(TRANSLATIONS_PYTHON) -m closeloop_cli.translations fill-source $(LOCALES_DIR)/en/LC_MESSAGES/$(CATALOG_DOMAIN).po

translations-compile:
	$(PYBABEL) compile --directory=$(LOCALES_DIR) --domain=$(CATALOG_DOMAIN) --statistics

translations-check:
	$(TRANSLATIONS_PYTHON) -m closeloop_cli.translations check $(LOCALES_DIR)

translations-init:
	@test -n "$(LOCALE)" || (echo "usage: make translations-init LOCALE=<language code, e.g. nl or pt_BR>" && exit 2)
	$(PYBABEL) init --input-file=$(CATALOG_TEMPLATE) --output-dir=$(LOCALES_DIR) \
		--domain=$(CATALOG_DOMAIN) --locale=$(LOCALE) --width=100

# The two commands of the README, and the developers' habits. Python 3.11+.
PY ?= python3
# One message catalogue per package: the core (crm_expo/ and the shared templates/) and each
# plugin. `make messages` extracts each into its committed .pot and updates its zh .po.
CATALOGUES = crm_expo $(patsubst %/translations/zh,%,$(wildcard plugins/*/translations/zh))

.PHONY: install demo test test-postgres lint format messages translations

install:                 ## the project and its test tools, editable
	$(PY) -m pip install -e '.[test]'

demo: install            ## run the demo (SQLite in ./instance, no configuration)
	crm-expo demo

test:                    ## the whole suite on SQLite (and on PostgreSQL when CRM_EXPO_TEST_DATABASE_URL is set)
	$(PY) -m pytest

test-postgres:           ## the whole suite on the PostgreSQL named by CRM_EXPO_TEST_DATABASE_URL
	@test -n "$$CRM_EXPO_TEST_DATABASE_URL" || { \
	  echo "set CRM_EXPO_TEST_DATABASE_URL=postgresql+psycopg://user@host/db (an empty database)"; exit 2; }
	$(PY) -m pytest

lint:                    ## ruff over the whole tree, as CI runs it
	$(PY) -m ruff check .

format:                  ## let ruff fix what it can (import order, pyupgrade), then show the rest
	$(PY) -m ruff check --fix .

messages:                ## extract every catalogue's strings into its .pot and update its zh .po
	@for c in $(CATALOGUES); do \
	  case $$c in crm_expo) src="crm_expo templates"; dir=crm_expo/translations;; \
	              *) src=$$c; dir=$$c/translations;; esac; \
	  pybabel -q extract -F babel.cfg -k _l -k lazy_gettext --no-location --sort-output \
	    --project crm-expo -o $$dir/messages.pot $$src && \
	  pybabel -q update -i $$dir/messages.pot -d $$dir -l zh --no-fuzzy-matching --ignore-obsolete; \
	done
	@echo "now translate the new empty msgstr in each zh/LC_MESSAGES/messages.po, then: make translations"

translations:            ## compile every zh catalogue after editing a .po
	@for c in $(CATALOGUES); do \
	  case $$c in crm_expo) dir=crm_expo/translations;; *) dir=$$c/translations;; esac; \
	  pybabel -q compile -d $$dir; done

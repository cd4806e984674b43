# The two commands of the README, and helpers. Python 3.11+.
PY ?= python3

.PHONY: install demo test test-postgres translations bench

install:
	$(PY) -m pip install -e '.[test]'

demo: install            ## run the demo (SQLite in ./instance, no configuration)
	crm-expo demo

test:                    ## the whole suite on SQLite (and on PostgreSQL when CRM_EXPO_TEST_DATABASE_URL is set)
	$(PY) -m pytest

translations:            ## compile every zh catalogue after editing a .po
	for d in crm_expo/translations crm_expo/translations_data plugins/*/translations; do \
	  [ -d $$d ] && pybabel compile -d $$d || true; done

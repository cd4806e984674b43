# The fixtures live in tests/fixtures.py so that plugin test folders (plugins/*/tests) share them.
pytest_plugins = ("tests.fixtures",)

# A package, so these modules and their conftest do not shadow tests/conftest.py
# (`from conftest import ...` in the in-process tests) or its test module names.

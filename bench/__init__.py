"""The sender's simulation harness (issue 4): `make bench`, or `python -m bench --help`."""

"""A month of the number pool in virtual time (issue 5): `python -m bench.pool --help`."""

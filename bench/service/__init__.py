"""The service's own benchmarks and the fault run: `python -m bench.service --help`."""

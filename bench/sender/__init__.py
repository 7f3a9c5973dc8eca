"""The sender's simulation in virtual time (issue 4) and the capacity study (issue 14):
`python -m bench.sender --help`."""

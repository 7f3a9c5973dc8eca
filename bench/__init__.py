"""The benchmarks (`make bench`; bench/README.md): three harnesses over one kit.

- bench/kit/: what every harness shares: the environment, clocks, the discrete-event
  kernel, Twilio fakes, SQS feeding, statistics, the moto speed-ups, and the seams
  into the service (bench/kit/seams.py installs every one of them);
- bench/sender/: the sender's simulation in virtual time and the capacity study
  (`python -m bench.sender`);
- bench/service/: the real service end to end, its handler, per-message and import
  figures and the fault run (`python -m bench.service`);
- bench/pool/: a month of the number pool (`python -m bench.pool`).
"""

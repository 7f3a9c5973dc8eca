"""`python -m devstack.twilio`: the Twilio stand-in alone (see devstack/twilio/__init__.py)."""

from devstack.twilio.server import main

main()

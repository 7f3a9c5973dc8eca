"""The offline development stack: pieces that stand in for AWS and Twilio on localhost.

twilio_spec validates requests against Twilio's OpenAPI description (twilio_oai/);
twilio/ is a local Twilio look-alike with a phone simulator page (a package: its
__init__ says how it is laid out).
"""

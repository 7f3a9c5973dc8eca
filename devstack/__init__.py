"""The offline development stack: pieces that stand in for AWS and Twilio on localhost.

twilio_spec validates requests against Twilio's OpenAPI description (twilio_oai/);
twilio/ is a local Twilio look-alike with a phone simulator page (a package: its
__init__ says how it is laid out); chat_receiver is the chat backend's side (its
webhook, and the chat page of chat/ that plays its users); field_setup is the stand-in's
Messaging Service with a VERIFIED campaign that `make run` starts with; stack wires them
all (with moto, the app, its pollers and schedules) and run is `make run`.
"""

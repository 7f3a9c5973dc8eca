"""The stand-in's Twilio REST APIs, as Twilio's OpenAPI descriptions define them: one module
of handlers per API (the 2010 API's Messages and phone numbers, the Messaging API v1), each
with its OPERATIONS by operationId; dispatch.py authenticates, validates each request against
the spec (devstack.twilio_spec), applies the faults and calls the handler. A new API (Lookup
v2, say) is a module with its OPERATIONS, listed in dispatch.py, and its spec cut."""

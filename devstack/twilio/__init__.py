"""A local stand-in for Twilio's REST APIs, with a phone simulator page.

It speaks the operations sms-bridge uses of the 2010 API, the Messaging API v1 and the Lookup
API v2 (see twilio_oai/README.md) for one account, checks HTTP basic auth, validates every request against
Twilio's OpenAPI description (devstack.twilio_spec), builds Twilio-shaped answers, sends signed
status callbacks (sent, then delivered) and signed inbound-SMS webhooks, and can be told to
misbehave (429, 5xx, slow answers) through a JSON control API under /_standin/.

Run it alone:
    TWILIO_ACCOUNT_SID=AC... TWILIO_AUTH_TOKEN=... STANDIN_PORT=8010 \\
        .venv/bin/python -m devstack.twilio
then open http://127.0.0.1:8010/ for the phone simulator.

In tests:
    from devstack.twilio.server import StandinHttpClient, serve
    server = serve(port=0, account_sid=..., auth_token=..., callback_delay=0)
    client = twilio.rest.Client(sid, token, http_client=StandinHttpClient(server.url))
    server.state.wait_for(lambda: ...)   # the backend: Twilio's state, under server.state.lock
    server.shutdown()
or, without HTTP or threads, the backend and its rules directly:
    backend = TwilioBackend(sid, token, clock=...); outbound.send_message(backend, ...)

Layout (moto's services: state in a backend, HTTP in responses; LocalStack's providers apart
from their stores). The backend side does no HTTP and runs no thread:
    resources.py      the account's resources as plain values (Message, IncomingNumber, ...)
    backend.py        TwilioBackend: the account's state and its rules for numbers, Messaging
                      Services, A2P campaigns, messages, phones, and its request/callback logs
    outbound.py       Twilio's rules for a message sent: refusals, sender pick, A2P 10DLC
                      (30034), the steps queued -> sent -> delivered | undelivered | failed
    carriers.py       each phone's carrier (default rule, settable), a campaign's queue at its
                      rate, T-Mobile's daily cap on the brand (30023 past it, Pacific days)
    inbound.py        a phone's SMS: keywords and opt-out, the webhook's form, TwiML replies
    phone_numbers.py  E.164, countries, area codes, numbers in stock; segments.py, media.py
The HTTP and time side:
    api/              the REST APIs: dispatch.py (auth, spec validation, faults, operationId),
                      messages.py and numbers.py (2010), messaging_v1.py, lookups_v2.py;
                      envelope.py
    render.py         Twilio's JSON of each resource
    media_fetch.py    fetching an MMS's MediaUrls (the backend's `fetch_media` seam)
    delivery.py       the timer moving messages through their steps, status callbacks,
                      inbound webhooks; webhooks.py: the signed-webhook client
    faults.py         fault injection; control.py: the control API; phone_page.py: the
                      page's view model (static/phones.html)
    context.py        Standin: the parts handed to the responses and the control API
    traffic.py        what `make run` prints of the SMS and the refused requests
    server.py         create_app, serve, StandinServer, StandinHttpClient, main

Control API (JSON in and out; errors as {"error": {"code", "message"}}):
    GET    /_standin/overview                 everything the page shows
    POST   /_standin/numbers                  {"phone_number"? | "area_code"?, "sms_url"?,
                                               "status_callback"?, "friendly_name"?} -> 201
    GET    /_standin/numbers                  {"numbers": [IncomingPhoneNumber JSON]}
    PUT    /_standin/area_codes/<code>        {"available": false}  (searches answer empty)
    POST   /_standin/faults                   {"operation"?: "CreateMessage"|"*", "status"?:
                                               429|500|503, "delay_ms"?, "count"?, "rate"?,
                                               "applied"?} -> 201
    GET    /_standin/faults, DELETE /_standin/faults
    GET    /_standin/phones                   {"phones": [{"phone", "opted_out", "unreachable",
                                               "line", "thread"}]}
    PUT    /_standin/phones/<phone>           {"opted_out"?: bool, "unreachable"?: bool,
                                               "line_type"?: one of Twilio's, "carrier"?: name | null,
                                               "sms_pumping_risk"?: 0-100}  (what Lookup
                                               answers; default: mobile, a carrier and a low
                                               risk picked by the phone's digits)
    POST   /_standin/phones/<phone>/send      {"to": pool_number, "body": "...",
                                               "media"?: [{"content_type", "data_base64"}]}
    GET    /_standin/media/<message>/<media>  a message's picture, for the phone page
    GET    /_standin/messages                 {"messages": [Message JSON]} (all, oldest first)
    GET    /_standin/requests, DELETE ...     Twilio API requests received
    GET    /_standin/callbacks                status callbacks and webhooks sent
    POST   /_standin/reset                    forget everything (config stays)
    GET    /_standin/services                 {"services": [Service JSON + "phone_numbers",
                                               "campaign", "advanced_opt_out"]}
    POST   /_standin/services                 {"friendly_name"?, "inbound_request_url"?,
                                               "use_inbound_webhook_on_number"?,
                                               "advanced_opt_out"?, "numbers"?: [E.164],
                                               "campaign_status"?, "rate_limits"?,
                                               "use_case"?: "SOLE_PROPRIETOR" | ...} -> 201
    PUT    /_standin/services/<MG sid>        {"add_numbers"?, "advanced_opt_out"?,
                                               "campaign_status"? (null removes it),
                                               "rate_limits"?, "use_case"?}
    PUT    /_standin/a2p                      {"required": bool}  (A2P 10DLC enforcement)
    PUT    /_standin/tmobile                  {"daily_cap": n | null}  (T-Mobile's cap on the brand;
                                               null: the campaign's tier's)

Options (create_app/serve keyword, or environment for a stand-in run alone):
    require_a2p / STANDIN_REQUIRE_A2P=1   a US long code outside the sender pool of a service
        with a VERIFIED campaign has its US-bound messages accepted (201 queued), then
        undelivered with ErrorCode 30034 through the status callback, as Twilio does.
    opt_out_type / STANDIN_OPT_OUT_TYPE   "always" (default: OptOutType on every keyword
        webhook) or "advanced" (only for numbers in a service with advanced_opt_out).
"""

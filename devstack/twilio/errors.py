"""Twilio's error answers as the stand-in gives them: the codes it answers with
(https://www.twilio.com/docs/api/errors) and ApiError, which the backend's rules raise and the
responses render as Twilio's error JSON."""

from __future__ import annotations

ERR_AUTHENTICATE = 20003
ERR_NOT_FOUND = 20404
ERR_TOO_MANY_REQUESTS = 20429
ERR_INTERNAL = 20500
ERR_UNAVAILABLE = 20503
ERR_INVALID_TO = 21211
ERR_PHONE_NUMBER_INVALID = 21421
ERR_PHONE_NUMBER_UNAVAILABLE = 21422
ERR_NO_NUMBERS_IN_AREA_CODE = 21452
ERR_FROM_NOT_OWNED = 21606
ERR_UNSUBSCRIBED = 21610
ERR_MESSAGING_SERVICE = 21701  # the Messaging Service does not exist
# the sender is not in the named Messaging Service (Twilio's error page lists 21711 at WARNING
# level; the stand-in refuses the message with it, a stricter reading)
ERR_NOT_IN_SERVICE = 21711
ERR_IN_ANOTHER_SERVICE = 21712  # number already in another Messaging Service
ERR_NOT_MESSAGING_CAPABLE = 21715  # number without SMS/MMS cannot join a service
ERR_UNREACHABLE = 30003
ERR_A2P_UNREGISTERED = 30034  # US A2P 10DLC - message from an unregistered number
# A Messaging Service with no sender in its pool to send from. UNVERIFIED: this code was not
# found in Twilio's error pages when the stand-in learnt Messaging Services; check it before
# the app relies on it.
ERR_SERVICE_HAS_NO_SENDER = 21704


class ApiError(Exception):
    """A Twilio error answer (HTTP status, Twilio code, message), raised by the backend's rules
    that both the API and the test helpers use."""

    def __init__(self, status: int, code: int, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def not_found(path: str) -> ApiError:
    return ApiError(404, ERR_NOT_FOUND, f"The requested resource {path} was not found")

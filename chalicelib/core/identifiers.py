"""The one rule for the ids a caller chooses: user_id and partner_id (pure).

An id is 1 to 128 of the URI's unreserved characters (RFC 3986: letters, digits,
'.', '_', '~', '-'). Such an id reads the same in a path and in a body, needs no
percent-encoding, and cannot be changed by whoever decodes a path (chalice's
local server hands handlers percent-encoded segments, API Gateway may decode
them): a segment that is encoded, or that decodes to anything else, is refused
instead of being read as another id. So two distinct ids never share a user,
a session or a phone. openapi.yaml states the same rule as `pattern` and
`maxLength`.
"""

from __future__ import annotations

import re
from typing import TypeGuard

from chalicelib.core.errors import bad_request

MAX_ID = 128
ID_PATTERN = r"^[A-Za-z0-9._~-]{1,128}$"  # openapi.yaml's Id (tests/unit/test_openapi_document.py)
_ID = re.compile(ID_PATTERN)


def is_valid_id(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and _ID.fullmatch(value) is not None  # fullmatch: no trailing newline


def require_id(value: object, field: str) -> str:
    """`value` when it follows the rule, else 400 invalid_id naming the field."""
    if not is_valid_id(value):
        raise bad_request(
            "invalid_id",
            f"{field} must be 1 to {MAX_ID} characters, each a letter, a digit or one of . _ ~ - "
            "(no percent-encoding, spaces, slashes or other characters)",
        )
    return value

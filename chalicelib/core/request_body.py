"""The one strict JSON parser of what callers send (the API's bodies and the requests
queue's messages), and the limits a body is held to BEFORE it is parsed (pure), so no
body can make the parser do unbounded work or recurse past Python's stack (a body
nested a few thousand levels deep used to answer 500 RecursionError).

- strict JSON (`parse`): NaN, Infinity and -Infinity are no JSON, nor is a number too large
  for a float (1e999, which Python reads as infinity), and a lone surrogate (an escaped
  U+D800, say) is no text: refused with 400 `invalid_json`, wherever it comes; so is an
  object naming a key twice (parsers disagree on which one counts);
- MAX_BODY_BYTES: larger bodies are refused with 413 `payload_too_large`
  (the largest real body, a 1,600-character text written entirely as
  surrogate-pair escapes, is about 19 KB).
- MAX_JSON_DEPTH: objects and arrays nested deeper are refused with 400
  `invalid_json` (every body the bridge takes is one flat object: depth 1).
"""

from __future__ import annotations

import json
import math

from chalicelib.core.errors import BridgeError, bad_request

MAX_BODY_BYTES = 32 * 1024
MAX_JSON_DEPTH = 8


def parse(raw: bytes | str | None, max_bytes: int = MAX_BODY_BYTES) -> object:
    """The JSON value of `raw`, checked first (check()) and parsed strictly; else the
    documented error (413 payload_too_large or 400 invalid_json)."""
    check(raw, max_bytes)
    try:
        value = json.loads(raw or b"", parse_constant=_not_json, parse_float=_finite, object_pairs_hook=_unique_keys)
        json.dumps(value, ensure_ascii=False).encode("utf-8")  # a lone surrogate does not encode
    except DuplicateKey as duplicate:
        raise bad_request("invalid_json", f"the body names {duplicate.key!r} twice: give each key once") from None
    except ValueError:  # UnicodeError is one
        raise bad_request(
            "invalid_json", "the body must be JSON of UTF-8 text (NaN, Infinity and lone surrogates are not)"
        ) from None
    return value


def _not_json(constant: str) -> object:
    raise ValueError(f"{constant} is not JSON")


def _finite(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"{text[:20]} is too large a number")
    return value


class DuplicateKey(ValueError):
    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    value: dict[str, object] = {}
    for key, item in pairs:
        if key in value:
            raise DuplicateKey(key)
        value[key] = item
    return value


def check(raw: bytes | str | None, max_bytes: int = MAX_BODY_BYTES, max_depth: int = MAX_JSON_DEPTH) -> None:
    """Raise the documented error when `raw` is too large or nested too deep."""
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else (raw or b"")
    if len(data) > max_bytes:
        raise BridgeError(
            "payload_too_large", f"the body has {len(data)} bytes; the most the bridge takes is {max_bytes}", 413
        )
    if nesting_depth(data) > max_depth:
        raise bad_request("invalid_json", f"the body nests objects or arrays deeper than {max_depth} levels")


def nesting_depth(data: bytes) -> int:
    """The deepest nesting of [ and { outside JSON strings (a scan, no parse)."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in data:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return deepest

"""Fetching an outbound message's MediaUrls as Twilio does (HEAD for the type, then GET,
following redirects): the one piece of the backend's media rules that does HTTP, passed to
outbound.send_message as its `fetch_media` seam."""

from __future__ import annotations

import requests

from devstack.twilio.media import ERR_MEDIA_FETCH, MediaError, StoredMedia, new_media, refusal

FETCH_TIMEOUT = 10  # seconds per request


def fetch_media(urls: list[str]) -> tuple[list[StoredMedia], MediaError | None]:
    """Each URL fetched as Twilio does; the first failure as (error code, message)."""
    fetched: list[StoredMedia] = []
    total = 0
    for url in urls:
        try:
            # A HEAD has no body to read (stream: moto's in-process S3 announces one anyway).
            head = requests.head(url, timeout=FETCH_TIMEOUT, allow_redirects=True, stream=True)
            head.close()
            response = requests.get(url, timeout=FETCH_TIMEOUT) if head.status_code == 200 else head
        except requests.RequestException as error:
            return fetched, (ERR_MEDIA_FETCH, f"HTTP retrieval failure: {type(error).__name__}")
        if response.status_code != 200:
            return fetched, (
                ERR_MEDIA_FETCH,
                f"HTTP retrieval failure: {url.split('?')[0]} answered {response.status_code}",
            )
        kind = (response.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        total += len(response.content)
        refused = refusal(kind, total)
        if refused is not None:
            return fetched, refused
        fetched.append(new_media(kind, response.content))
    return fetched, None

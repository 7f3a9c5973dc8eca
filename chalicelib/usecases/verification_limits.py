"""The limits on verification codes: codes per phone and per user, the bridge's global
budget per hour, and code tries per phone. The arithmetic is core/verification_limits.py;
here each limit is read, decided and written back conditionally (the context's
store.counters), so racing requests cannot together pass a limit. Over a limit: 429 with
Retry-After, and the caller sends nothing.
"""

from __future__ import annotations

from chalicelib.config import VerificationSettings
from chalicelib.core import verification_limits as rules
from chalicelib.core.errors import BridgeError
from chalicelib.core.verification_limits import Window
from chalicelib.store.counters import EventLog
from chalicelib.usecases.context import Context

TOO_MANY_CODES, TOO_MANY_TRIES = "too_many_codes", "too_many_tries"
_ATTEMPTS = 8  # conditional writes lost to racing requests before answering 429


def too_many(code: str, retry_after: int, why: str) -> BridgeError:
    return BridgeError(code, f"{why}; try again in {retry_after} s", 429, headers={"Retry-After": str(retry_after)})


def _phone_windows(limits: VerificationSettings) -> list[Window]:
    return [Window(1, limits.phone_min_interval_seconds), Window(limits.phone_max_per_hour, 3600)]


def _tries_window(limits: VerificationSettings) -> Window:
    return Window(limits.max_tries, limits.tries_window_seconds)


def admit_code(ctx: Context, user_id: str, phone: str) -> None:
    """Count one code SMS to `phone` for `user_id`, or raise 429 (nothing counted
    when a limit is already reached)."""
    limits, now = ctx.settings.verification, ctx.now()
    checks = [
        (f"tries#{phone}", [_tries_window(limits)], TOO_MANY_TRIES, "too many wrong codes for this phone"),
        (f"phone#{phone}", _phone_windows(limits), TOO_MANY_CODES, "too many codes were sent to this phone"),
        (f"user#{user_id}", [Window(limits.user_max_per_hour, 3600)], TOO_MANY_CODES, "too many codes for this user"),
    ]
    refusals = []
    for key, windows, code, why in checks:
        decision = rules.admit(_times(ctx.store.counters.log(key)), now, windows)
        if not decision.allowed:
            refusals.append((decision.retry_after, code, why))
    if refusals:
        raise _refusal(refusals)
    for key, windows, code, why in checks[1:]:
        _take(ctx, key, windows, now, code, why)
    _take_budget(ctx, limits, now)


def _refusal(refusals: list[tuple[int, str, str]]) -> BridgeError:
    retry_after, code, why = max(refusals)
    return too_many(code, retry_after, why)


def count_try(ctx: Context, phone: str) -> int:
    """Count one code try for `phone` (before the code is compared, so racing guesses
    cannot pass the limit); returns the tries left, or raises 429 too_many_tries
    while the phone is locked, whatever the code."""
    limits, now = ctx.settings.verification, ctx.now()
    window = _tries_window(limits)
    times = _take(ctx, f"tries#{phone}", [window], now, TOO_MANY_TRIES, "too many wrong codes for this phone")
    return max(0, window.limit - rules.used(times, now, window))


def _times(log: EventLog | None) -> list[float]:
    return list(log.times) if log else []


def _take(ctx: Context, key: str, windows: list[Window], now: float, code: str, why: str) -> tuple[float, ...]:
    """Record one event under `key` if its windows allow it; returns the new log."""
    longest = max(window.seconds for window in windows)
    for _ in range(_ATTEMPTS):
        log = ctx.store.counters.log(key)
        decision = rules.admit(_times(log), now, windows)
        if not decision.allowed:
            raise too_many(code, decision.retry_after, why)
        # Kept a minute past its longest window, so a late read still sees it.
        if ctx.store.counters.replace_log(key, decision.times, log, int(now) + longest + 60):
            return decision.times
    raise too_many(code, 1, "too many requests for this phone at once")


def _take_budget(ctx: Context, limits: VerificationSettings, now: float) -> None:
    """One SMS of the global budget of the current clock hour."""
    start, end = rules.fixed_window(now, 3600)
    budget = limits.global_max_per_hour
    used = ctx.store.counters.take(f"global#{start}", budget, int(end + 3600))
    if used is None:
        ctx.metrics.verification_budget(near=True)
        raise too_many(
            TOO_MANY_CODES, max(1, int(end - now)), "the bridge's hourly budget of verification SMS is spent"
        )
    ctx.metrics.verification_sms()
    ctx.metrics.verification_budget(near=rules.near(used, budget, limits.global_alarm_fraction))

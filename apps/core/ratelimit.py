"""Fixed-window counters in the cache (Redis) for rate limits: public forms, log-ins, reset codes.

A cache outage fails open (the counter reads 0): a lost Redis must not take public pages down.
"""

import hashlib
import logging

from django.core.cache import cache

logger = logging.getLogger(__name__)


def rate_key(*parts) -> str:
    """A cache key from its parts; the last part (a phone, an IP address) is hashed, never stored."""
    *prefix, value = (str(part) for part in parts)
    digest = hashlib.sha256(value.encode("utf-8", "replace")).hexdigest()[:32]
    return ":".join(["rate", *prefix, digest])


def count(key: str) -> int:
    try:
        return int(cache.get(key) or 0)
    except Exception:
        logger.warning("rate-limit counter unavailable", exc_info=True)
        return 0


def hit(key: str, window: int) -> int:
    """Add one to a fixed-window counter and return the new value."""
    try:
        try:
            cache.add(key, 0, timeout=window)
            return cache.incr(key)
        except ValueError:  # expired between add and incr: start a new window
            cache.set(key, 1, timeout=window)
            return 1
    except Exception:
        logger.warning("rate-limit counter unavailable", exc_info=True)
        return 0


def reset(key: str) -> None:
    try:
        cache.delete(key)
    except Exception:
        logger.warning("rate-limit counter unavailable", exc_info=True)

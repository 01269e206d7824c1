"""A tiny registry of benchmarks run by `manage.py bench` (and `make bench`).

An app registers a bench when it loads (import its bench module from AppConfig.ready()):

    from apps.core.bench import register

    @register("members")
    def members(options: dict) -> dict:
        ...
        return {"bench": "members", "list_p50_ms": 12.3, ...}

A bench function takes the command's parsed options (a dict: at least "agency", "requests" and
"warmup") and returns one JSON-serialisable dict, printed as one line by `manage.py bench --json`.
"""

import time
from collections.abc import Callable

BenchFunction = Callable[[dict], dict]

_BENCHES: dict[str, BenchFunction] = {}


def register(name: str) -> Callable[[BenchFunction], BenchFunction]:
    def decorator(function: BenchFunction) -> BenchFunction:
        if name in _BENCHES and _BENCHES[name] is not function:
            raise ValueError(f"a bench named {name!r} is already registered")
        _BENCHES[name] = function
        return function

    return decorator


def names() -> list[str]:
    """Registered bench names, in registration order."""
    return list(_BENCHES)


def get(name: str) -> BenchFunction:
    return _BENCHES[name]


def percentile(samples: list[float], fraction: float) -> float:
    """Nearest-rank percentile (fraction 0-1) of non-empty `samples`."""
    ordered = sorted(samples)
    rank = max(1, -(-len(ordered) * fraction // 1))  # ceil(n * fraction), at least 1
    return ordered[int(rank) - 1]


def count_queries(call) -> int:
    """How many SQL statements `call()` runs (an execute wrapper: no DEBUG, no query log needed)."""
    from django.db import connection  # noqa: PLC0415

    executed = []

    def wrapper(execute, sql, params, many, context):
        executed.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        call()
    return len(executed)


def time_get(client, url: str, options: dict) -> tuple[list[float], int]:
    """GET `url` with `client`: options["warmup"] untimed, then (ms per request of options["requests"], queries)."""
    from django.core.management.base import CommandError  # noqa: PLC0415

    def get():
        if client.get(url).status_code != 200:
            raise CommandError(f"GET {url} did not answer 200")

    for _index in range(options["warmup"]):
        get()
    queries = count_queries(get)
    timings = []
    for _index in range(options["requests"]):
        start = time.perf_counter()
        get()
        timings.append((time.perf_counter() - start) * 1000)
    return timings, queries

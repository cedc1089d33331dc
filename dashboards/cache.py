"""The dashboards' cache: values keyed by (data version, name, parameters), in Redis or in-process.

Keys carry the data version that every write bumps (stored in the database), so a cached value is
never stale: after a write, every worker computes under the new version on its next request and
the old entries simply age out. With `app.config["REDIS_URL"]` the entries are shared by all
workers (serialised as JSON, never pickled: a value read from the network is data, not code),
and each worker keeps a bounded in-process LRU in front of it (the only store without Redis).
Redis failures are logged and the value is computed as if it were not cached; after a failure
Redis is left alone for a few seconds.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar

import pandas as pd
from flask import Flask, current_app

log = logging.getLogger(__name__)

EXTENSION_KEY = "dashboards.cache"
DEFAULT_MAX_ENTRIES = 512
DEFAULT_MAX_BYTES = 48 * 2**20  # in-process entries per worker (estimated sizes)
UNSIZED_ENTRY_BYTES = 64 * 2**10
SIZE_SAMPLE = 256  # text cells measured per column to size a frame
RELEASE_AFTER_SECONDS = 0.2  # a computation this long frees enough to return it to the system
DEFAULT_TTL_SECONDS = 24 * 3600
REDIS_TIMEOUT_SECONDS = 0.5
REDIS_RETRY_AFTER_SECONDS = 10.0

T = TypeVar("T")
_MISSING = object()


# --- serialisation ---------------------------------------------------------------------------


def frame_to_json(frame: pd.DataFrame) -> str:
    """A DataFrame (default index) as JSON that `frame_from_json` restores with its dtypes."""
    data = frame.astype(object).where(frame.notna(), None).values.tolist()
    return json.dumps(
        {
            "columns": [str(column) for column in frame.columns],
            "dtypes": [str(dtype) for dtype in frame.dtypes],
            "data": data,
        },
        default=_json_default,
    )


def frame_from_json(text: str) -> pd.DataFrame:
    """Inverse of `frame_to_json`."""
    payload = json.loads(text)
    frame = pd.DataFrame(payload["data"], columns=payload["columns"])
    if frame.empty:
        frame = pd.DataFrame({column: [] for column in payload["columns"]})
    return frame.astype(dict(zip(payload["columns"], payload["dtypes"], strict=True)))


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def encode(value: Any) -> str:
    """Serialise a DataFrame or a JSON-compatible value for Redis."""
    if isinstance(value, pd.DataFrame):
        return json.dumps({"kind": "frame", "value": frame_to_json(value)})
    return json.dumps({"kind": "json", "value": value}, default=_json_default)


def decode(text: str | bytes) -> Any:
    """Inverse of `encode`."""
    payload = json.loads(text)
    if payload["kind"] == "frame":
        return frame_from_json(payload["value"])
    return payload["value"]


def value_size(value: Any) -> int:
    """An estimate of the memory an entry holds: a frame's memory (text columns estimated from
    a sample), else the length of its JSON (a fixed guess for what JSON cannot express)."""
    if isinstance(value, pd.DataFrame):
        return frame_size(value)
    try:
        return len(json.dumps(value, default=_json_default))
    except (TypeError, ValueError):
        return UNSIZED_ENTRY_BYTES


def frame_size(frame: pd.DataFrame) -> int:
    """About the deep memory of a frame. Text cells are sized from an even sample of each
    column: `memory_usage(deep=True)` measures every string, which costs tens of milliseconds
    on a large cube (as much as drawing a chart) for a number that only bounds the cache."""
    size = int(frame.memory_usage(index=True, deep=False).sum())
    rows = len(frame)
    if not rows:
        return size
    step = max(1, rows // SIZE_SAMPLE)
    for _name, column in frame.items():
        if isinstance(column.dtype, pd.CategoricalDtype):
            size += int(column.cat.categories.memory_usage(deep=True))
        elif column.dtype.kind == "O":  # object and str columns hold Python objects
            sample = column.iloc[::step].tolist()
            size += sum(map(sys.getsizeof, sample)) * rows // len(sample)
    return size


def _load_malloc_trim() -> Callable[[int], int] | None:
    try:
        import ctypes

        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc: nothing to do
        return None


_MALLOC_TRIM = _load_malloc_trim()


def release_free_memory() -> None:
    """Hand the heap that a large computation freed back to the system (glibc keeps it
    otherwise, and a worker's resident memory would stay at its high-water mark)."""
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)


# --- the cache -------------------------------------------------------------------------------


class DashboardCache:
    """Get-or-compute cache; `name` says what is cached, `params` (a string) which variant.

    Cached values are shared between requests: treat them as read-only.
    """

    def __init__(
        self,
        *,
        redis_url: str | None = None,
        namespace: str = "observatory:dashboards",
        max_entries: int = DEFAULT_MAX_ENTRIES,
        max_bytes: int = DEFAULT_MAX_BYTES,
        ttl_seconds: int = DEFAULT_TTL_SECONDS,
    ) -> None:
        self.namespace = namespace
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.bytes = 0
        self.newest_version: int | None = None
        self._sizes: dict[tuple[int, str, str], int] = {}
        self.ttl_seconds = ttl_seconds
        self._local: OrderedDict[tuple[int, str, str], Any] = OrderedDict()
        self._lock = threading.Lock()
        self._redis = None
        self._redis_down_until = 0.0
        self.hits = 0
        self.misses = 0
        if redis_url:
            import redis

            self._redis = redis.Redis.from_url(
                redis_url,
                socket_timeout=REDIS_TIMEOUT_SECONDS,
                socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
            )

    @property
    def backend(self) -> str:
        """ "redis" or "memory"."""
        return "redis" if self._redis is not None else "memory"

    def redis_key(self, version: int, name: str, params: str) -> str:
        """The Redis key of an entry (parameters hashed to keep keys short)."""
        digest = hashlib.sha256(params.encode("utf-8")).hexdigest()[:24]
        return f"{self.namespace}:v{version}:{name}:{digest}"

    def get_or_compute(self, version: int, name: str, params: str, compute: Callable[[], T]) -> T:
        """The cached value for (version, name, params), computing and storing it on a miss."""
        value = self._get(version, name, params)
        if value is not _MISSING:
            self.hits += 1
            return value
        self.misses += 1
        started = time.monotonic()
        value = compute()
        self._set(version, name, params, value)
        if time.monotonic() - started >= RELEASE_AFTER_SECONDS:
            release_free_memory()
        return value

    def clear(self) -> None:
        """Forget the in-process entries (Redis entries expire by themselves)."""
        with self._lock:
            self._local.clear()
            self._sizes.clear()
            self.bytes = 0

    # An in-process LRU in front of the optional Redis: entries of one version never change, so
    # a worker may keep its own copy of what Redis holds.

    def _get(self, version: int, name: str, params: str) -> Any:
        key = (version, name, params)
        with self._lock:
            if key in self._local:
                self._local.move_to_end(key)
                return self._local[key]
        if self._redis is None:
            return _MISSING
        value = self._redis_get(self.redis_key(version, name, params))
        if value is not _MISSING:
            self._remember(key, value)
        return value

    def _set(self, version: int, name: str, params: str, value: Any) -> None:
        self._remember((version, name, params), value)
        if self._redis is not None:
            self._redis_set(self.redis_key(version, name, params), value)

    def _remember(self, key: tuple[int, str, str], value: Any) -> None:
        """Keep an entry in-process: only entries of the newest data version seen are kept (an
        older version is never asked for again), at most `max_entries` and about `max_bytes`."""
        version = key[0]
        size = value_size(value)
        with self._lock:
            if self.newest_version is not None and version < self.newest_version:
                return
            if self.newest_version is None or version > self.newest_version:
                self.newest_version = version
                for old in [k for k in self._local if k[0] < version]:
                    self._forget(old)
            if key in self._local:
                self._forget(key)
            if size > self.max_bytes:
                return
            self._local[key] = value
            self._sizes[key] = size
            self.bytes += size
            while len(self._local) > self.max_entries or self.bytes > self.max_bytes:
                self._forget(next(iter(self._local)))

    def _forget(self, key: tuple[int, str, str]) -> None:
        del self._local[key]
        self.bytes -= self._sizes.pop(key, 0)

    # Redis, degrading to "not cached" on any failure

    def _redis_available(self) -> bool:
        return time.monotonic() >= self._redis_down_until

    def _redis_failed(self, action: str, error: Exception) -> None:
        self._redis_down_until = time.monotonic() + REDIS_RETRY_AFTER_SECONDS
        log.warning("dashboard cache: Redis %s failed, computing instead: %s", action, error)

    def _redis_get(self, key: str) -> Any:
        if not self._redis_available():
            return _MISSING
        try:
            raw = self._redis.get(key)
        except Exception as error:  # noqa: BLE001 - any Redis trouble means "not cached"
            self._redis_failed("read", error)
            return _MISSING
        if raw is None:
            return _MISSING
        try:
            return decode(raw)
        except (ValueError, KeyError, TypeError) as error:
            log.warning("dashboard cache: unreadable entry %s ignored: %s", key, error)
            return _MISSING

    def _redis_set(self, key: str, value: Any) -> None:
        if not self._redis_available():
            return
        try:
            self._redis.set(key, encode(value), ex=self.ttl_seconds)
        except Exception as error:  # noqa: BLE001 - the value is returned uncached
            self._redis_failed("write", error)


def _default_namespace(app: Flask) -> str:
    # Two deployments (or two test databases) sharing a Redis must not share entries: the data
    # version counts writes of one database only.
    database = str(app.config.get("DATABASE_URL") or "")
    digest = hashlib.sha256(database.encode("utf-8")).hexdigest()[:12]
    return f"observatory:dashboards:{digest}"


def get_cache(app: Flask | None = None) -> DashboardCache:
    """The app's dashboard cache, created on first use from its configuration."""
    app = app or current_app._get_current_object()
    cache = app.extensions.get(EXTENSION_KEY)
    if cache is None:
        cache = DashboardCache(
            redis_url=app.config.get("REDIS_URL") or None,
            namespace=app.config.get("DASHBOARD_CACHE_NAMESPACE") or _default_namespace(app),
        )
        app.extensions[EXTENSION_KEY] = cache
    return cache

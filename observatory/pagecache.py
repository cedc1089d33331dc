"""Rendered public pages, cached per worker for anonymous visitors and keyed by the data version.

Every write that changes what the public sees bumps the data version (observatory.db), so an
entry is never stale: a request under a newer version finds nothing and the old entries are
dropped at once. Only requests that carry no session cookie and no signed-in user are served
from (and stored in) the cache: such a page has no flash message, no CSRF token and nothing
personal. The key holds everything else a page may depend on: the host, the full path with its
query string, the language and the day (citations carry the access date). The store is a
bytes-bounded LRU, so a worker's memory stays bounded whatever URLs are requested.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import date

from flask import Flask, current_app, g, request

from observatory.db import data_version, get_session
from observatory.i18n import current_language

EXTENSION_KEY = "observatory.pagecache"
DEFAULT_MAX_BYTES = 16 * 2**20
MAX_ENTRY_BYTES = 2 * 2**20


class PageCache:
    """A bytes-bounded LRU of strings, all of one data version (a newer version empties it)."""

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self.version: int | None = None
        self.bytes = 0
        self.hits = 0
        self.misses = 0
        self._entries: OrderedDict[tuple, str] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    @staticmethod
    def size(text: str) -> int:
        """Approximate memory of an entry (UTF-8 length: close to CPython's for text pages)."""
        return len(text.encode("utf-8"))

    def get(self, version: int, key: tuple) -> str | None:
        """The entry of `key` under `version`, or None."""
        with self._lock:
            if version != self.version:
                self.misses += 1
                return None
            text = self._entries.get(key)
            if text is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return text

    def put(self, version: int, key: tuple, text: str) -> None:
        """Store an entry; another version than the current one replaces every entry."""
        size = self.size(text)
        if size > min(MAX_ENTRY_BYTES, self.max_bytes):
            return
        with self._lock:
            if version != self.version:
                self._entries.clear()
                self.bytes = 0
                self.version = version
            previous = self._entries.pop(key, None)
            if previous is not None:
                self.bytes -= self.size(previous)
            self._entries[key] = text
            self.bytes += size
            while self.bytes > self.max_bytes and self._entries:
                _key, dropped = self._entries.popitem(last=False)
                self.bytes -= self.size(dropped)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.bytes = 0
            self.version = None


def get_page_cache(app: Flask | None = None) -> PageCache:
    """The app's page cache (created on first use; `PAGE_CACHE_MAX_BYTES` bounds it)."""
    app = app or current_app._get_current_object()
    cache = app.extensions.get(EXTENSION_KEY)
    if cache is None:
        cache = PageCache(int(app.config.get("PAGE_CACHE_MAX_BYTES") or DEFAULT_MAX_BYTES))
        app.extensions[EXTENSION_KEY] = cache
    return cache


def is_anonymous_request() -> bool:
    """A GET without a session cookie nor a signed-in user: its page is the same for everyone."""
    return (
        request.method in ("GET", "HEAD")
        and g.get("user") is None
        and current_app.config["SESSION_COOKIE_NAME"] not in request.cookies
        and current_app.config.get("PAGE_CACHE", True) is not False
    )


def anonymous_page(name: str, render: Callable[[], str], *, extra: tuple = ()) -> str:
    """`render()`, served from the cache for anonymous visitors (see the module docstring).

    `render` must not use the session (no CSRF token, no flash) for an anonymous visitor, and
    must raise (e.g. NotFound) rather than return an error page: only its text is cached.
    `extra` adds what else the page depends on (e.g. a setting) to the key.
    """
    if not is_anonymous_request():
        return render()
    cache = get_page_cache()
    version = data_version(get_session())
    key = (name, request.host_url, request.full_path, current_language(), date.today(), extra)
    text = cache.get(version, key)
    if text is None:
        text = render()
        cache.put(version, key, text)
    return text


__all__ = ["PageCache", "anonymous_page", "get_page_cache", "is_anonymous_request"]

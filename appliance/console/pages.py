"""Server-rendered pages: Jinja templates shipped in the package, one stylesheet, and the
headers every console response carries (strict CSP, no caching, no referrer: an
enrolment link must not leak through a Referer header)."""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from importlib import resources
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from litestar.datastructures import Cookie
from litestar.response import Response

HTML = "text/html; charset=utf-8"
CSP = (
    "default-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
HEADERS = {
    "cache-control": "no-store",
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
}


def utc(ts: float | None) -> str:
    """A UNIX time as the pages show it (UTC, to the second); "" for None."""
    if ts is None:
        return ""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S")


def seconds(value: float | None) -> str:
    """A duration or stage timing in s, to the millisecond; "" for None."""
    return "" if value is None else f"{value:.3f}"


@functools.cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("appliance.console", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        auto_reload=False,
    )
    env.filters["utc"] = utc
    env.filters["seconds"] = seconds
    return env


def render(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)


def page(
    template: str, status: int = 200, cookies: list[Cookie] | None = None, **context: Any
) -> Response[str]:
    """A console page with the console's headers."""
    body = render(template, **context)
    return Response(body, status_code=status, media_type=HTML, headers=HEADERS, cookies=cookies)


@functools.cache
def htmx_script() -> str:
    """htmx (npm htmx.org 2.0.11, minified, 0BSD: static/htmx.LICENSE), as shipped."""
    return resources.files("appliance.console").joinpath("static", "htmx.min.js").read_text("utf-8")


@functools.cache
def stylesheet() -> str:
    return (
        resources.files("appliance.console").joinpath("templates", "console.css").read_text("utf-8")
    )

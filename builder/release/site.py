"""`builder catalog --site DIR`: the channel's static web catalog, an index page and a page per image
line (facts: site_data.py; charts: svg.py; feeds: feed.py), from package templates with autoescape on.

Plain HTML and CSS; the only script filters the index and the page works without it. Every file is
written atomically and only when its text changed, so a rerun leaves an unchanged site untouched.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import cache
from importlib import resources
from pathlib import Path

import jinja2
import yaml
from markupsafe import Markup

from builder.core.errors import UsageError
from builder.core.files import Writes, write_changed
from builder.core.settings import Settings
from builder.recipe.graph import Channel
from builder.release import feed, latency, site_data, svg
from builder.release.site_data import ImageLine

# Characters no HTML or XML document may carry (C0 controls but tab and newline, and the
# noncharacters XML 1.0 forbids): a hostile text that held them would make the page or feed invalid.
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")
STATIC = ("site.css", "filter.js")


def clean(value: object) -> object:
    """Every value a template prints passes here before it is escaped; Markup (a macro's output, a
    chart) was made of values that passed here or were escaped by svg.py, and stays as it is."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return _FORBIDDEN.sub("\ufffd", value)
    return value


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("builder.release", "templates"),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=True,
        finalize=clean,
    )
    env.globals["megabytes"] = svg.megabytes
    env.globals["days"] = latency.days_text
    return env


def _static(name: str) -> str:
    return resources.files("builder.release").joinpath("templates", name).read_text(encoding="utf-8")


def channel_name(settings: Settings) -> str:
    return f"{settings.registry}/{settings.namespace}"


def image_page(line: ImageLine, channel: str, today: dt.date) -> str:
    points = [(r.version, r.size) for r in reversed(line.releases)]
    kubernetes = yaml.safe_dump(line.runtime.kubernetes, sort_keys=False) if line.runtime else ""
    measured = latency.of(line, today)
    bars = [(f"{fix.cve} ({fix.released})", fix.days) for fix in measured.fixes]
    return (
        environment()
        .get_template("image.html.j2")
        .render(
            title=line.id,
            channel=channel,
            root=line.root,
            line=line,
            kubernetes=kubernetes,
            latency=measured,
            window=latency.WINDOW_DAYS,
            chart=Markup(svg.size_chart("size-chart", points)),  # noqa: S704 - svg.py escapes every text
            latency_chart=Markup(svg.latency_chart("latency-chart", bars)),  # noqa: S704 - as above
        )
    )


def index_page(lines: tuple[ImageLine, ...], channel: str, today: dt.date) -> str:
    return (
        environment()
        .get_template("index.html.j2")
        .render(
            title="Images",
            channel=channel,
            root="",
            lines=lines,
            today=today.isoformat(),
            today_date=today,
            recent_days=site_data.RECENT_DAYS,
            latency=latency.channel(lines, today),
            window=latency.WINDOW_DAYS,
        )
    )


def render(lines: tuple[ImageLine, ...], channel: str, today: dt.date) -> dict[str, str]:
    """Every file of the site by its path from the site's root."""
    files = {"index.html": index_page(lines, channel, today)}
    files.update((line.page, image_page(line, channel, today)) for line in lines)
    files.update((name, _static(name)) for name in STATIC)
    files.update(feed.render(lines, channel, environment().get_template("feed.xml.j2")))
    return files


def write(settings: Settings, channel: Channel, folder: Path, today: dt.date) -> Writes:
    files = render(site_data.lines(settings, channel, today), channel_name(settings), today)
    try:
        return write_changed({folder / path: text for path, text in files.items()})
    except OSError as exc:
        raise UsageError(
            f"{folder}: cannot write the web catalog there ({exc.strerror or exc}); pass --site a folder you can write"
        ) from None

"""The HTML part of mail, rendered from Jinja2 templates in ``templates/``.

Autoescaping is always on: evidence, titles, URLs and source names come from public items and
are shown as text, never as markup (a ``<script>`` in a post arrives as ``&lt;script&gt;``).
"""

from __future__ import annotations

import functools

from jinja2 import Environment, PackageLoader, StrictUndefined


@functools.cache
def environment() -> Environment:
    return Environment(
        loader=PackageLoader("leaksentry.alerts", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )


def render(template: str, **context) -> str:
    """The template `template` (a file name in templates/) rendered with `context`."""
    return environment().get_template(template).render(**context)

"""Property-based tests (hypothesis): no parser crashes on hostile input, whatever arrives.

Every spider's parsing callback is fed arbitrary bytes and arbitrary JSON documents in a real
Scrapy response; it may log, count or report a source error, never raise. The brief-file and
configuration readers raise only their own clear errors. Each property runs for a bounded
number of examples.
"""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scrapy.http import HtmlResponse, Request, TextResponse
from scrapy.utils.test import get_crawler

from leaksentry.briefs import read_brief_file
from leaksentry.config import load_config
from leaksentry.errors import BriefError, ConfigError
from spiders.kinds import SPIDERS

BOUNDED = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=12), inner, max_size=5)
    ),
    max_leaves=25,
)
# kind -> (callback name, its keyword arguments)
CALLBACKS = {
    "feed": ("parse_feed", {}),
    "sitemap": ("parse_sitemap", {"depth": 0}),
    "site": ("parse_section", {}),
    "mastodon": ("parse_page", {"timeline": "tag:harbour", "ids": {}}),
    "bluesky": ("parse_page", {"listing": "q:harbour"}),
    "reddit": ("parse_page", {"listing": "r:harbour"}),
    "telegram": ("parse_page", {"channel": "harbour"}),
    "hackernews": ("parse_page", {"query": "harbour", "number": 0}),
    "gdelt": ("parse_page", {"query": "harbour", "end": None}),
}
OPTIONS = {
    "site": {"follow": [r"/news/"]},
    "mastodon": {"hashtags": ["harbour"]},
    "bluesky": {"queries": ["harbour"]},
    "reddit": {"subreddits": ["harbour"]},
    "telegram": {"channels": ["harbour"]},
    "hackernews": {"queries": ["harbour"]},
    "gdelt": {"queries": ["harbour"]},
}


def spider_for(kind: str, database):
    crawler = get_crawler(SPIDERS[kind], {"LEAKSENTRY_DATABASE": str(database)})
    crawler._apply_settings()
    return SPIDERS[kind].from_crawler(
        crawler, source=kind, url="http://127.0.0.1:9/x", options=OPTIONS.get(kind, {})
    )


def feed(spider, kind: str, body: bytes, content_type: str) -> None:
    name, kwargs = CALLBACKS[kind]
    url = "http://127.0.0.1:9/x"
    cls = HtmlResponse if "html" in content_type else TextResponse
    response = cls(url, body=body, headers={"Content-Type": content_type}, request=Request(url))
    result = getattr(spider, name)(response, **kwargs)
    for _ in result or ():
        pass


def test_every_kind_has_a_fuzzed_callback():
    assert set(CALLBACKS) == set(SPIDERS)


@pytest.mark.parametrize("kind", sorted(SPIDERS))
@BOUNDED
@given(body=st.binary(max_size=2000))
def test_arbitrary_bytes_never_crash_a_spider(tmp_path, kind, body):
    feed(spider_for(kind, tmp_path / "ls.db"), kind, body, "text/html; charset=utf-8")


@pytest.mark.parametrize("kind", sorted(SPIDERS))
@BOUNDED
@given(document=JSON)
def test_arbitrary_json_never_crashes_a_spider(tmp_path, kind, document):
    body = json.dumps(document).encode()
    feed(spider_for(kind, tmp_path / "ls.db"), kind, body, "application/json")


@BOUNDED
@given(text=st.text(max_size=600))
def test_brief_files_raise_only_their_own_clear_errors(tmp_path, text):
    for suffix in (".toml", ".json", ".jsonl"):
        path = tmp_path / f"brief{suffix}"
        path.write_text(text, encoding="utf-8")
        try:
            read_brief_file(path)
        except BriefError as error:
            assert str(path) in str(error)


@BOUNDED
@given(text=st.text(max_size=600))
def test_configuration_raises_only_its_own_clear_errors(tmp_path, text):
    path = tmp_path / "leaksentry.toml"
    path.write_text(text, encoding="utf-8")
    try:
        load_config(path, env={})
    except ConfigError as error:
        assert str(path) in str(error) or "[" in str(error)


@BOUNDED
@given(body=st.binary(max_size=3000), as_json=st.booleans())
def test_arbitrary_article_pages_never_crash_extraction(tmp_path, body, as_json):
    spider = spider_for("feed", tmp_path / "ls.db")
    url = "http://127.0.0.1:9/article"
    if as_json:
        response = TextResponse(url, body=b'{"a": [1, 2]}' + body[:0], request=Request(url))
    else:
        response = HtmlResponse(url, body=body, request=Request(url))
    for _ in spider.parse_article(response, title="t", published=None):
        pass

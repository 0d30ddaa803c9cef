"""The Scrapy project: one small spider per source kind; pipelines normalise, de-duplicate, store.

Spiders know no briefs. ``python -m spiders.crawl`` runs configured sources in a fresh process
(Twisted's reactor cannot restart inside one process, and a crash stays contained).
"""

"""Alerts: matches grouped into stories, the decision to mail, rendering, sending, the digest.

- ``exposures``: alerting matches of a brief grouped into alerts (one per story), severity;
- ``notify``: when an alert calls for mail (first message, follow-up), rendering, threads;
- ``mailer``: SMTP (the outbox's mail transport); ``channels``: chat channels (Apprise);
- ``digest``: the daily digest.

Alerts know no embeddings: they read matches and items from the store.
"""

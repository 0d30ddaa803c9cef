"""Chat channels beside email, through Apprise (Slack, Teams, Matrix, Mattermost, webhooks...).

A channel is configured by name in ``[channels]`` (its Apprise URL holds a token: keep it in
LEAKSENTRY_CHANNEL_<NAME>); ``[alerts] channels`` says which briefs' alerts go to which
channels. The message is the alert's plain text: codename, score, public evidence, detail
numbers, never the sealed wording.
"""

from __future__ import annotations

import apprise

from leaksentry.errors import DeliveryError


def send(url: str, title: str, body: str) -> None:
    """Deliver one message to one channel; DeliveryError when it did not go through."""
    notifier = apprise.Apprise()
    if not notifier.add(url):
        raise DeliveryError("the channel's Apprise URL is not valid")
    if not notifier.notify(title=title, body=body, body_format=apprise.NotifyFormat.TEXT):
        raise DeliveryError("the channel did not accept the message")

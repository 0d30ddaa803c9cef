"""The triage page: a small Flask app where operators read alerts and record verdicts.

Nothing is imported here, so ``leaksentry.web.links`` (used by the mail step) stays light.
"""

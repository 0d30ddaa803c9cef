"""leaksentry: early warning when an organisation's sealed briefs show up in public."""

__version__ = "0.1.0"

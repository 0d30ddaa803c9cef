"""The matcher's own errors. Each message is one clear line a user can act on.

The matcher knows nothing of the application: whoever calls it (the leaksentry CLI, a script)
decides how to show a MatcherError; the CLI prints the message on one line, with no traceback.
"""


class MatcherError(Exception):
    """Base of every matcher error a user can act on; str(error) is one line for the user."""


class ModelNotFound(MatcherError):
    """The embedding model is neither an installed packaged model nor a model folder."""


class SettingsError(MatcherError):
    """A matcher setting is unknown or has the wrong type."""


class InputError(MatcherError):
    """An input file (items in JSON Lines) is missing or malformed; names file and line."""

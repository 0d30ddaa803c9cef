"""Small exceptions of our own; only the CLI turns them into one clear line."""


class LeaksentryError(Exception):
    """Base of every error a user can act on."""


class ConfigError(LeaksentryError):
    """The configuration or sources file is missing or wrong."""


class BriefError(LeaksentryError):
    """A brief file is invalid (names file, field and what is wrong, never sealed text)."""


class VaultError(LeaksentryError):
    """The key is missing or wrong, or a sealed value was tampered with."""


class DeliveryError(LeaksentryError):
    """Mail could not be handed to the SMTP server."""


class SmtpUnavailable(DeliveryError):
    """The SMTP server could not be reached or dropped the connection: retry later."""

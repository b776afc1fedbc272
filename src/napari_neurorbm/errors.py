"""The one exception type that carries a user-facing, one-line message."""


class NeuroRBMError(ValueError):
    """Bad input or an impossible request; the message is shown to the user as it is."""

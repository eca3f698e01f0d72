"""The one exception type the CLI turns into a single clean line (no traceback)."""


class UserError(Exception):
    """Bad input from the user: the message says what is wrong and how to fix it."""

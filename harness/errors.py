"""`UserError`: bad input that the user must fix. The CLI prints it as one line and exits 2."""


class UserError(Exception):
    """A problem with the user's input (file, key, value), reported as one line, exit code 2.

    Raise it with the file (and key) named in the message; never call `sys.exit` below the CLI.
    """

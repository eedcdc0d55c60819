"""The one exception type the project raises for bad input.

Its message is a single sentence that names the problem and the fix; the command line
prints it without a traceback.
"""


class AsalError(ValueError):
    """Bad input: a missing folder, an unknown name, an unusable parameter, ..."""

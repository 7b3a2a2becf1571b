"""Errors a user sees as one line, each carrying its exit code (README, "What it does")."""

EXIT_OK = 0
EXIT_CHECKS_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_REFUSED = 3
EXIT_RUNTIME = 4


class ChsyncError(Exception):
    """Base class: `str(err)` is the single line printed to the user."""

    exit_code = EXIT_RUNTIME


class BadInput(ChsyncError):
    """Malformed dates, unknown customer, malformed DSN/URL, invalid spec."""

    exit_code = EXIT_BAD_INPUT


class Refused(ChsyncError):
    """A guard refused a destructive step."""

    exit_code = EXIT_REFUSED


class RuntimeFailure(ChsyncError):
    """A valid request that failed while running (unreachable server, lost connection, ...)."""

    exit_code = EXIT_RUNTIME

"""Errors raised by ricci-ray when the caller, not the data, is wrong."""


class RicciRayError(Exception):
    """Base class: the CLI prints these as one line, without a traceback."""


class ConfigError(RicciRayError, ValueError):
    """A sweep file or an argument is invalid: the message names field, allowed and given."""


class DataError(RicciRayError):
    """A data file is missing or does not have the expected layout."""


class MissingDependencyError(RicciRayError, ImportError):
    """An optional dependency is not installed; the message gives the install command."""

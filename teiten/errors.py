"""The exceptions teiten raises.

    TeitenError                 base of everything below; the CLI prints its message
    ├── CaptureError            a file is not a capture, or its header cannot be read
    │   └── UnsupportedCapture  a capture teiten recognises but cannot decode (version, link type)
    ├── StoreError              the store is missing, locked or inconsistent
    ├── GeoDataError            GeoIP/AS data missing or unreadable
    ├── SettingError            a setting (option or TEITEN_* variable) has a bad value
    └── InputError              an input record (import line, form, API request) that cannot be taken
"""

from __future__ import annotations

__all__ = [
    "CaptureError",
    "GeoDataError",
    "InputError",
    "SettingError",
    "StoreError",
    "TeitenError",
    "UnsupportedCapture",
]


class TeitenError(Exception):
    """Base class: an error with a message meant for the user."""


class CaptureError(TeitenError):
    """A file is not a capture, or its header cannot be read."""


class UnsupportedCapture(CaptureError):
    """A capture in a version or link type teiten does not decode."""


class StoreError(TeitenError):
    """The store is missing, locked or inconsistent."""


class GeoDataError(TeitenError):
    """GeoIP or AS data is missing or unreadable."""


class SettingError(TeitenError):
    """A setting has a value teiten cannot use."""


class InputError(TeitenError):
    """An input record (an import line, a form, an API request) that cannot be taken as it is."""

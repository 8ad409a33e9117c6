"""detgrid's exceptions: one class per status of the C library.

Every failure of the library arrives as an instance of a subclass of
:class:`Error`, with the library's message (which names the file, record
and field where that applies). Each class also derives from the built-in
exception a Python programmer would expect for it, so ``except ValueError``
catches malformed input and ``except OSError`` an unreadable file.
"""

from . import _detgrid


class Error(Exception):
    """A detgrid library call failed; ``status`` is its dg_status code and
    ``status_name`` the name ("EFORMAT")."""
    status = None
    status_name = None


class InvalidArgumentError(Error, ValueError):
    """DG_EINVAL: a bad argument (a threshold out of range, a bad name)."""


class OutOfMemoryError(Error, MemoryError):
    """DG_ENOMEM."""


class FileError(Error, OSError):
    """DG_EIO: a file cannot be read or written."""


class FormatError(Error, ValueError):
    """DG_EFORMAT: malformed input; the message names record and field."""


class NotFoundError(Error, LookupError):
    """DG_ENOTFOUND: no such inference set, segment, class, ..."""


class VersionError(Error):
    """DG_EVERSION: a project file written by a newer detgrid."""


class OpenCLError(Error):
    """DG_ECL: an OpenCL call failed (with fallback off)."""


class NoDeviceError(Error):
    """DG_ENODEV: no usable OpenCL device (with fallback off)."""


class ExistsError(Error, ValueError):
    """DG_EEXIST: the name is taken."""


class StaleError(Error):
    """DG_ESTALE: results missing or out of date (run eval)."""


class RangeError(Error, ValueError):
    """DG_ERANGE: a value or a count out of range."""


class MismatchError(Error):
    """DG_EMISMATCH: device and reference results differ."""


_CLASSES = {
    "EINVAL": InvalidArgumentError, "ENOMEM": OutOfMemoryError,
    "EIO": FileError, "EFORMAT": FormatError, "ENOTFOUND": NotFoundError,
    "EVERSION": VersionError, "ECL": OpenCLError, "ENODEV": NoDeviceError,
    "EEXIST": ExistsError, "ESTALE": StaleError, "ERANGE": RangeError,
    "EMISMATCH": MismatchError,
}

BY_STATUS = {}
for _code, _name in _detgrid.status_names().items():
    if _code < 0:
        _cls = _CLASSES.get(_name, Error)
        _cls.status = _code
        _cls.status_name = _name
        BY_STATUS[_code] = _cls
_detgrid.set_errors(BY_STATUS)

__all__ = ["Error"] + sorted(c.__name__ for c in _CLASSES.values())

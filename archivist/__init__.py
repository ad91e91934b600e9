"""archivist: an event-sourced archive of Polish news and government articles.

    from archivist import Archive
    with Archive.open("~/my-archive") as a:
        for hit in a.search("handlu ludzmi").hits: ...
"""

from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _version

from archivist.archive import Archive

try:
    __version__ = _version("archivist")  # one source: pyproject.toml's version, as installed
except PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "unknown (not installed)"

__all__ = ["Archive", "__version__"]

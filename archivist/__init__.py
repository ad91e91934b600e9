"""archivist: an event-sourced archive of Polish news and government articles.

    from archivist import Archive
    with Archive.open("~/my-archive") as a:
        for hit in a.search("handlu ludzmi").hits: ...
"""

from archivist.archive import Archive

__all__ = ["Archive", "__version__"]


def __getattr__(name: str) -> str:
    # `__version__` is read when asked for: importlib.metadata costs ~50 ms of every command's start-up
    if name != "__version__":
        raise AttributeError(f"module 'archivist' has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        value = version("archivist")  # one source: pyproject.toml's version, as installed
    except PackageNotFoundError:  # run from a source tree that was never installed
        value = "unknown (not installed)"
    globals()["__version__"] = value
    return value

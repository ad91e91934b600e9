"""archivist: an event-sourced archive of Polish news and government articles.

    from archivist import Archive
    with Archive.open("~/my-archive") as a:
        for hit in a.search("handlu ludzmi").hits: ...
"""

from archivist.archive import Archive

__all__ = ["Archive"]

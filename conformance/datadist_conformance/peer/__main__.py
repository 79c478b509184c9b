"""``python -m datadist_conformance.peer``: the helper process (see `server`)."""

from .server import main

main()

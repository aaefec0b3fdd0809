"""One process opening the state database: says ``ready`` once imported, waits for a line on
stdin (so several workers start migrating together), opens the store and prints its revision."""

from __future__ import annotations

import json
import sys

from store.migrate import current_revision
from store.proposals import open_store

if __name__ == "__main__":
    print("ready", flush=True)
    sys.stdin.readline()
    engine = open_store(sys.argv[1])
    print(json.dumps({"revision": current_revision(engine)}), flush=True)
    engine.dispose()

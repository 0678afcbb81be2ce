"""Print a /health document (read from stdin) as a few readable lines."""

import json
import sys

doc = json.load(sys.stdin)
print(f"status {doc['status']}, version {doc['version']}, hostname {doc['hostname']}")
for key, entries in doc["checks"].items():
    for entry in entries:
        name = f"{key} {entry.get('componentId', '')}".strip()
        print(
            f"  {name:26} {entry['observedValue']:>12} {entry['observedUnit']:8} {entry['status']}"
        )

"""The sections of `make bench`: each module measures its figures (`measure`, on the lab) and
writes its part of docs/benchmarks.md from them (`render`, with its template beside it)."""

from sections import agent, fleet, logs, variants

# In the order they run: fleet recreates the lab hosts; the others share one host, set up once.
MEASURED = {"fleet": fleet, "agent": agent, "variants": variants, "logs": logs}
# In the order of the report.
REPORTED = {"agent": agent, "variants": variants, "logs": logs, "fleet": fleet}

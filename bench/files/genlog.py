"""Write an nginx-style access log of SIZE bytes at PATH (run on a lab host): `genlog.py PATH SIZE`.

One 1 MiB block of varied lines, repeated: every 61st line carries ERROR (the `contains` needle).
"""

import os
import sys

path, size = sys.argv[1], int(sys.argv[2])
paths = ["/", "/api/items", "/api/items/42", "/static/app.js", "/login", "/health"]
lines, total, i = [], 0, 0
while total < 1 << 20:
    level = "ERROR" if i % 61 == 0 else "info"
    line = (
        f"10.0.{i % 7}.{i % 251} - - [01/Jan/2025:10:{i // 600 % 60:02d}:{i // 10 % 60:02d} +0000]"
        f' "GET {paths[i % len(paths)]}?page={i} HTTP/1.1" {(200, 200, 304, 404, 500)[i % 5]}'
        f' {(i * 7919) % 50_000} "-" "Mozilla/5.0 (X11; Linux x86_64) bench/{i % 13}" {level}\n'
    )
    lines.append(line)
    total += len(line)
    i += 1
block = "".join(lines).encode()
with open(path + ".tmp", "wb") as f:
    for _ in range(max(1, size // len(block))):
        f.write(block)
os.replace(path + ".tmp", path)

"""Another government system, as a separate process (`python tests/apiclient.py URL TOKEN N`):
it sends N problems to /api/v1/problems, every tenth twice (as a client that timed out and
retried would), then reads the change feed to the end. It prints one JSON line: the ids it was
given per reference, and the feed's event ids in the order read. Standard library only."""

from __future__ import annotations

import json
import sys
import urllib.request


def call(url: str, token: str, method: str = "GET", body=None, key: str | None = None):
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    if key:
        headers["Idempotency-Key"] = key
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def main(base: str, token: str, n: int, uscc: str) -> None:
    given: dict[str, list[int]] = {}
    for i in range(n):
        ref = f"12345-E2E-{i:05d}"
        body = {
            "external_ref": ref,
            "source": "hotline",
            "company": {"uscc": uscc},
            "category_code": "D6",
            "nature_code": "consult",
            "description": f"热线来电 {i}：企业反映不动产登记材料被反复要求补正。",
        }
        for _ in range(2 if i % 10 == 0 else 1):
            answer = call(f"{base}/api/v1/problems", token, "POST", body, key=ref)
            given.setdefault(ref, []).append(answer["id"])
    events, after = [], "0"
    while True:
        page = call(f"{base}/api/v1/events?after={after}&limit=500", token)
        if not page["items"]:
            break
        events += [e["id"] for e in page["items"]]
        after = page["cursor"]
    print(json.dumps({"given": given, "events": events}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4])

"""`helm test` hook: POST the sample digit to /predict through the Service; check the answer.

Env: TARGET_URL (http://<service>:<port>), EXPECTED_DIGIT, API_KEY_FILE (optional: the server's
API keys file; its first key is sent as a Bearer credential),
SAMPLE (path of the PNG). Exits non-zero with one line on failure, which fails `helm test`.
"""

import json
import os
import sys
import urllib.request
import uuid

base = os.environ["TARGET_URL"].rstrip("/")
expected = int(os.environ["EXPECTED_DIGIT"])
with open(os.environ.get("SAMPLE", "/opt/test/sample.png"), "rb") as fh:
    png = fh.read()
for path in ("/healthz", "/readyz"):
    with urllib.request.urlopen(base + path, timeout=10) as resp:  # noqa: S310
        if resp.status != 200:
            sys.exit(f"FAIL: {path} answered {resp.status}")
boundary = uuid.uuid4().hex
body = (
    (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="digit.png"\r\n'
        "Content-Type: image/png\r\n\r\n"
    ).encode()
    + png
    + f"\r\n--{boundary}--\r\n".encode()
)
request = urllib.request.Request(  # noqa: S310
    base + "/predict",
    data=body,
    headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
)
key_file = os.environ.get("API_KEY_FILE", "")
if key_file and os.path.exists(key_file):
    with open(key_file, encoding="utf-8") as fh:
        keys = [line.strip() for line in fh if line.strip() and not line.startswith("#")]
    if keys:
        request.add_header("Authorization", f"Bearer {keys[0]}")
with urllib.request.urlopen(request, timeout=30) as resp:  # noqa: S310
    answer = json.load(resp)
if answer.get("digit") != expected:
    sys.exit(f"FAIL: expected digit {expected}, got {answer}")
print(f"OK: /predict answered {answer}")

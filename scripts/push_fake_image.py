#!/usr/bin/env python3
"""Put an image manifest into the emulator's ECR, standing in for `docker push`.

usage: push_fake_image.py IMAGE   (e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:1.0.0)
Reads AWS_ENDPOINT_URL, which must be a loopback address: this never talks to real AWS.
"""
import json
import os
import sys
from urllib.parse import urlparse

import boto3


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    endpoint = os.environ.get("AWS_ENDPOINT_URL", "")
    host = urlparse(endpoint).hostname or ""
    if not (host.startswith("127.") or host in ("localhost", "::1")):
        sys.exit(f"AWS_ENDPOINT_URL={endpoint!r} is not a loopback emulator; refusing")
    image = sys.argv[1]
    registry, _, rest = image.partition("/")
    region = registry.split(".")[3]
    repository, _, tag = rest.rpartition(":")
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 2, "digest": "sha256:" + "0" * 64},
        "layers": [],
    }
    ecr = boto3.client("ecr", region_name=region, endpoint_url=endpoint)
    ecr.put_image(repositoryName=repository, imageManifest=json.dumps(manifest), imageTag=tag)
    print(f"pushed (emulated) {image}")


if __name__ == "__main__":
    main()

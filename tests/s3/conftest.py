"""A real S3-compatible server on 127.0.0.1 for the whole session: moto's server mode with
authentication on, so wrong credentials are refused as a real store refuses them.

moto lets the first ``INITIAL_NO_AUTH_ACTION_COUNT`` requests through unauthenticated; the
fixture spends them on an IAM user with an allow-all policy, its access key and the bucket.
Every request after that must be signed with that key.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from mlops.serve.launcher import free_port
from tests.promotion.conftest import registered_base  # noqa: F401  (a fixture)

BUCKET = "mlops-dvc"
_SETUP_REQUESTS = 4  # create user, put policy, create key, create bucket


@dataclass(frozen=True)
class S3Store:
    endpoint: str
    key: str
    secret: str
    bucket: str = BUCKET

    def env(self, key: str | None = None, secret: str | None = None) -> dict[str, str]:
        """The variables DVC (botocore) reads; other keys give a wrong-credentials client."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": key or self.key,
            "AWS_SECRET_ACCESS_KEY": secret or self.secret,
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    def url(self, prefix: str) -> str:
        return f"s3://{self.bucket}/{prefix}"

    def client(self):
        import boto3

        env = self.env()
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
            region_name=env["AWS_DEFAULT_REGION"],
        )

    def keys(self, prefix: str) -> list[str]:
        pages = (
            self.client()
            .get_paginator("list_objects_v2")
            .paginate(Bucket=self.bucket, Prefix=prefix)
        )
        return [o["Key"] for page in pages for o in page.get("Contents", [])]


def _wait_up(port: int, process: subprocess.Popen, log: Path, timeout: float = 30) -> None:
    """Wait for the port to accept connections (an HTTP request would spend a setup request)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"moto_server exited: {log.read_text()[-2000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"moto_server did not listen on port {port} in {timeout}s")


def _provision(endpoint: str) -> S3Store:
    import boto3

    anonymous = {"aws_access_key_id": "setup", "aws_secret_access_key": "setup"}
    iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1", **anonymous)
    iam.create_user(UserName="ci")
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*",
                                                       "Resource": "*"}]}  # fmt: skip
    iam.put_user_policy(UserName="ci", PolicyName="all", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName="ci")["AccessKey"]
    store = S3Store(endpoint, key["AccessKeyId"], key["SecretAccessKey"])
    store.client().create_bucket(Bucket=BUCKET)
    return store


@pytest.fixture(scope="session")
def s3_store(tmp_path_factory) -> S3Store:
    """One moto server per test session (the S3 tests share an xdist group)."""
    port = free_port()
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    server = str(Path(sys.executable).parent / "moto_server")
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [server, "-H", "127.0.0.1", "-p", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": str(_SETUP_REQUESTS)},
        )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        _wait_up(port, process, log)
        yield _provision(endpoint)
    finally:
        process.terminate()
        process.wait(10)


@pytest.fixture
def s3(s3_store, monkeypatch) -> S3Store:
    """The store's endpoint and keys in this test's environment (and its subprocesses')."""
    for name, value in s3_store.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    return s3_store


@pytest.fixture
def prefix() -> str:
    """A fresh folder of the bucket for one test."""
    return f"dvc-{uuid.uuid4().hex[:10]}"

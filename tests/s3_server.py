"""A real S3-compatible server on loopback for the remote tests (pytest plugin, see tests/conftest.py).

If ``SIMPLE_CKPT_S3_ENDPOINT`` is set (``.ci/run`` starts one and exports it) that server is used;
otherwise a moto server is started on a free loopback port for the session and stopped at the end.
Credentials are dummies. Each test gets a fresh bucket (fixture ``s3_bucket``, a ``s3://<name>`` URL).
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ENDPOINT_ENV = "SIMPLE_CKPT_S3_ENDPOINT"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers(endpoint: str) -> bool:
    try:
        with urllib.request.urlopen(endpoint, timeout=1) as response:  # noqa: S310 - loopback only
            return response.status < 500
    except OSError as exc:
        return getattr(exc, "code", 0) and exc.code < 500  # type: ignore[attr-defined, no-any-return]


def _server_command(port: int) -> list[str]:
    moto = Path(sys.executable).with_name("moto_server")
    if moto.exists():
        return [str(moto), "-H", "127.0.0.1", "-p", str(port)]
    if shutil.which("moto_server") is None:
        return [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    return ["moto_server", "-H", "127.0.0.1", "-p", str(port)]


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """The loopback S3 endpoint URL (started here unless the environment names one)."""
    pytest.importorskip("s3fs", reason="fsspec + s3fs (the remote extra) are needed for the remote tests")
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    given = os.environ.get(ENDPOINT_ENV)
    if given:
        yield given
        return
    pytest.importorskip("moto", reason="moto[server] (the test extra) is needed for the remote tests")
    port = _free_port()
    endpoint = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(_server_command(port), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while not _answers(endpoint):
            if proc.poll() is not None:
                pytest.fail(f"the moto server exited with code {proc.returncode} before answering")
            if time.monotonic() > deadline:
                pytest.fail(f"the moto server did not answer on {endpoint} within 30 s")
            time.sleep(0.1)
        os.environ[ENDPOINT_ENV] = endpoint
        yield endpoint
    finally:
        if os.environ.get(ENDPOINT_ENV) == endpoint:
            del os.environ[ENDPOINT_ENV]
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture
def s3_bucket(s3_endpoint: str) -> str:
    """A new, empty bucket on the loopback server: ``s3://<name>``."""
    import fsspec

    name = f"test-{secrets.token_hex(6)}"
    fs = fsspec.filesystem("s3", client_kwargs={"endpoint_url": s3_endpoint}, skip_instance_cache=True)
    fs.mkdir(name)
    return f"s3://{name}"

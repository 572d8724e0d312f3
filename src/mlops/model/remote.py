"""The DVC remote as object storage: existence checks and failures that name their cause.

The default remote is a local folder; a team's is S3 or an S3-compatible store (MinIO, Ceph)
through ``dvc-s3``, with the endpoint from ``AWS_ENDPOINT_URL`` and the keys from
``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY`` (or ``dvc remote modify --local``). Object stores
answer "forbidden" and "not found" through many exception types; this module turns them into one
of three things a user can act on: wrong credentials, a missing object, an unreachable endpoint.
"""

from __future__ import annotations

import re

CREDENTIALS_HINT = (
    "check the remote's credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or "
    "`dvc remote modify --local storage access_key_id ...`), and AWS_ENDPOINT_URL for an "
    "S3-compatible store"
)
_DENIED = re.compile(
    r"InvalidAccessKeyId|SignatureDoesNotMatch|AccessDenied|Forbidden|ExpiredToken|"
    r"InvalidToken|NoCredentials|Unable to locate credentials|\b403\b",
    re.IGNORECASE,
)
_UNREACHABLE = re.compile(
    r"Could not connect|EndpointConnectionError|Connection refused|Cannot connect|"
    r"Name or service not known|timed out",
    re.IGNORECASE,
)


def _chain(exc: BaseException) -> list[BaseException]:
    out: list[BaseException] = []
    while exc is not None and exc not in out:
        out.append(exc)
        exc = exc.__cause__ or exc.__context__
    return out


def detail(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {str(exc)[:300]}"


def denied(exc: BaseException) -> bool:
    """The store refused the credentials (or there are none)."""
    return any(
        isinstance(e, PermissionError) or _DENIED.search(f"{type(e).__name__} {e}")
        for e in _chain(exc)
    )


def unreachable(exc: BaseException) -> bool:
    return any(_UNREACHABLE.search(f"{type(e).__name__} {e}") for e in _chain(exc))


def reason(exc: BaseException, missing_hint: str = "was `dvc push` run after training?") -> str:
    """One clause: why a remote operation failed and what to do about it."""
    if denied(exc):
        return f"the DVC remote refused access ({detail(exc)}); {CREDENTIALS_HINT}"
    if unreachable(exc):
        return (
            f"the DVC remote did not answer ({detail(exc)}); check the remote's URL "
            "(`dvc remote list`) and AWS_ENDPOINT_URL"
        )
    return f"({detail(exc)}); {missing_hint}"


def object_exists(odb, md5: str) -> bool:
    """One HEAD (or stat) request. Unlike ``odb.exists``, a refusal raises instead of reading
    as "absent", so wrong credentials are never reported as a missing `dvc push`."""
    try:
        odb.fs.info(odb.oid_to_path(md5))
    except FileNotFoundError:
        return False
    return True

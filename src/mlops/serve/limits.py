"""Request-size limit: a body above ``max_body_bytes`` is refused with 413 before it is read
whole, so one huge request can never hold a worker's memory (the 10,000-record cap applies
after parsing, which is too late for a 600 MB body)."""

from __future__ import annotations

from fastapi import Request


class BodyTooLarge(Exception):
    def __init__(self, size: int, limit: int, declared: bool):
        what = "declares" if declared else "sent more than"
        super().__init__(
            f"request body {what} {size:,} bytes; this server accepts at most {limit:,} "
            "(split the records over several requests, or start the server with a larger "
            "--max-body-mb)"
        )


def _declared(request: Request) -> int | None:
    value = request.headers.get("content-length", "")
    return int(value) if value.isdigit() else None


async def read_body(request: Request, limit: int) -> bytes:
    """The body, read chunk by chunk and refused as soon as it passes ``limit`` bytes."""
    declared = _declared(request)
    if declared is not None and declared > limit:
        raise BodyTooLarge(declared, limit, declared=True)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(size, limit, declared=False)
        chunks.append(chunk)
    return b"".join(chunks)

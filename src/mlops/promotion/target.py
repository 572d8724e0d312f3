"""The deploy contract, client side: `GET /version` and `POST /-/sync` of an environment's
server. One place that speaks HTTP to targets, for `deploy` and `status`."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import httpx

from mlops.core.errors import MlopsError
from mlops.formats.models_file import Deployment

TOKEN_ENV = "MLOPS_SYNC_TOKEN"


class TargetError(MlopsError):
    """A target did not answer, or answered something the contract does not allow."""


@dataclass(frozen=True)
class Live:
    """What a server reports at `GET /version`."""

    env: str
    commit: str | None
    stable: dict | None
    canary: dict | None
    sync: str
    reason: str
    shadow: dict | None = None  # scored off the answer's path, never answers

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Live:
        return cls(
            data.get("env", ""),
            data.get("commit"),
            data.get("stable"),
            data.get("canary"),
            data.get("sync", "Unknown"),
            data.get("reason") or "",
            data.get("shadow"),
        )

    def serves(self, desired: Deployment | None) -> bool:
        """True when the loaded versions are exactly ``desired`` (versions, digests, traffic)."""
        if desired is None:
            return not self.stable
        want = desired.to_dict()
        canary, shadow = want.pop("canary", None), want.pop("shadow", None)
        stable = {k: (self.stable or {}).get(k) for k in ("version", "digest")}
        return stable == want and _pin(self.canary) == canary and _pin(self.shadow) == shadow

    def describe(self) -> str:
        if not self.stable:
            return "none"
        text = str(self.stable.get("version"))
        if self.canary:
            text += f" + canary {self.canary.get('version')} at {self.canary.get('traffic')}%"
        if self.shadow:
            text += f" + shadow {self.shadow.get('version')} on {self.shadow.get('traffic')}%"
        return text


def _pin(pin: dict | None) -> dict | None:
    return {k: pin.get(k) for k in ("version", "digest", "traffic")} if pin else None


def _request(method: str, url: str, timeout: float, **kwargs) -> dict:
    try:
        response = httpx.request(method, url, timeout=timeout, **kwargs)
    except httpx.HTTPError as exc:
        raise TargetError(
            f"{method} {url}: no answer ({type(exc).__name__}: {exc}); is the server running?"
        ) from exc
    if response.status_code in (401, 403):
        raise TargetError(
            f"{method} {url}: refused ({response.status_code}); "
            f"set {TOKEN_ENV} to the server's sync token"
        )
    if response.status_code >= 400:
        raise TargetError(f"{method} {url}: HTTP {response.status_code}: {response.text[:300]}")
    try:
        return response.json()
    except ValueError as exc:
        raise TargetError(f"{method} {url}: answered something that is not JSON") from exc


def metrics(url: str, timeout: float = 10.0) -> str:
    """The server's ``/metrics`` text (Prometheus' exposition format)."""
    target = url.rstrip("/") + "/metrics"
    try:
        response = httpx.get(target, timeout=timeout)
        response.raise_for_status()
    except httpx.HTTPError as exc:
        raise TargetError(f"cannot read {target} ({type(exc).__name__}: {exc})") from exc
    return response.text


def live(url: str, timeout: float = 3.0) -> Live:
    return Live.from_json(_request("GET", url.rstrip("/") + "/version", timeout))


def sync(url: str, timeout: float = 60.0) -> Live:
    token = os.environ.get(TOKEN_ENV, "")
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return Live.from_json(_request("POST", url.rstrip("/") + "/-/sync", timeout, headers=headers))

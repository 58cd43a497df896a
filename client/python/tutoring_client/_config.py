"""The service config every client of tutoring.v1 loads.

service_config.json is client/service_config.json of the project, copied into
this package when the wheel is built (never edited here). It holds the retry
policy (UNAVAILABLE, every RPC is a read), per-method default timeouts,
round_robin load balancing and client-side health checking of
"tutoring.v1.TutoringService".

The channel gets the file without its timeouts: the client sets each call's
timeout itself (the caller's, else the client's default_timeout, else the
file's timeout of the method), so that a caller's longer timeout is not cut
to the file's (gRPC would take the smaller of the two).
"""

from __future__ import annotations

import copy
import json
from importlib import resources
from typing import Dict, List, Optional, Tuple

SERVICE = "tutoring.v1.TutoringService"
HEALTH_SERVICE = "grpc.health.v1.Health"


def _parse_duration(text: str) -> float:
    if not text.endswith("s"):
        raise ValueError(f"service config: bad duration {text!r}")
    return float(text[:-1])


def load_json() -> dict:
    """The service config as shipped with this package."""
    return json.loads(resources.files(__package__).joinpath(
        "service_config.json").read_text(encoding="utf-8"))


class ServiceConfig:
    def __init__(self, config: dict):
        self.raw = config
        self._timeouts: Dict[Tuple[str, str], float] = {}
        for entry in config.get("methodConfig", []):
            if "timeout" not in entry:
                continue
            timeout = _parse_duration(entry["timeout"])
            for name in entry["name"]:
                self._timeouts[(name["service"], name.get("method", ""))] = timeout
        channel_config = copy.deepcopy(config)
        for entry in channel_config.get("methodConfig", []):
            entry.pop("timeout", None)
        self.channel_json = json.dumps(channel_config, separators=(",", ":"))

    def timeout(self, service: str, method: str) -> Optional[float]:
        """The file's timeout of service/method, else of the service."""
        found = self._timeouts.get((service, method))
        if found is None:
            found = self._timeouts.get((service, ""))
        return found

    def channel_options(self, *, health_checking: bool = True) -> List[Tuple[str, object]]:
        options: List[Tuple[str, object]] = [
            ("grpc.service_config", self.channel_json),
            ("grpc.enable_retries", 1),
        ]
        if not health_checking:
            options.append(("grpc.inhibit_health_checking", 1))
        return options


_DEFAULT: Optional[ServiceConfig] = None


def default() -> ServiceConfig:
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = ServiceConfig(load_json())
    return _DEFAULT

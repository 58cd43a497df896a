"""What the asyncio and the blocking client share: request building,
credentials, call options and the grpc.health.v1 messages."""

from __future__ import annotations

import datetime
from importlib import resources
from pathlib import Path
from typing import Iterable, List, Optional, Sequence, Tuple, Union

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.timestamp_pb2 import Timestamp

from tutoring.v1 import tutoring_pb2 as pb
from tutoring.v1 import tutoring_pb2_grpc as pb_grpc

from . import _config

Metadata = Sequence[Tuple[str, Union[str, bytes]]]
AsOf = Union[None, datetime.datetime, Timestamp]
PathLike = Union[str, Path]


def timestamp(as_of: AsOf) -> Optional[Timestamp]:
    """A Timestamp from a timezone-aware datetime (naive ones are rejected:
    their instant would depend on this machine's zone), or as given."""
    if as_of is None or isinstance(as_of, Timestamp):
        return as_of
    if not isinstance(as_of, datetime.datetime):
        raise TypeError(f"as_of must be a datetime or a Timestamp, got {type(as_of).__name__}")
    if as_of.tzinfo is None or as_of.utcoffset() is None:
        raise ValueError("as_of must be timezone-aware (e.g. datetime.now(timezone.utc))")
    result = Timestamp()
    result.FromDatetime(as_of.astimezone(datetime.timezone.utc))
    return result


def get_streak_request(user_id: int, time_zone: str, as_of: AsOf) -> pb.GetStreakRequest:
    request = pb.GetStreakRequest(user_id=user_id, time_zone=time_zone)
    ts = timestamp(as_of)
    if ts is not None:
        request.as_of.CopyFrom(ts)
    return request


def batch_get_streaks_request(user_ids: Iterable[int], time_zone: str,
                              as_of: AsOf) -> pb.BatchGetStreaksRequest:
    request = pb.BatchGetStreaksRequest(user_ids=list(user_ids), time_zone=time_zone)
    ts = timestamp(as_of)
    if ts is not None:
        request.as_of.CopyFrom(ts)
    return request


def channel_credentials(credentials: Optional[grpc.ChannelCredentials],
                        root_certificates: Optional[PathLike],
                        certificate_chain: Optional[PathLike],
                        private_key: Optional[PathLike]) -> Optional[grpc.ChannelCredentials]:
    """credentials as given, else TLS from the PEM files named (a client
    certificate and key for mutual TLS), else None (plaintext)."""
    files = (root_certificates, certificate_chain, private_key)
    if credentials is not None:
        if any(f is not None for f in files):
            raise ValueError("give either credentials or certificate files, not both")
        return credentials
    if (certificate_chain is None) != (private_key is None):
        raise ValueError("certificate_chain and private_key go together (mutual TLS)")
    if all(f is None for f in files):
        return None

    def read(path: Optional[PathLike]) -> Optional[bytes]:
        return None if path is None else Path(path).read_bytes()

    return grpc.ssl_channel_credentials(
        root_certificates=read(root_certificates),
        private_key=read(private_key),
        certificate_chain=read(certificate_chain))


class CallOptions:
    """Per-client settings every call applies: timeouts and metadata."""

    def __init__(self, config: _config.ServiceConfig, default_timeout: Optional[float],
                 token: Optional[str], metadata: Optional[Metadata]):
        if default_timeout is not None and not default_timeout > 0:
            raise ValueError(f"default_timeout must be > 0, got {default_timeout}")
        self._config = config
        self._default_timeout = default_timeout
        base: List[Tuple[str, Union[str, bytes]]] = list(metadata or ())
        if token is not None:
            if not token or any(c in token for c in "\r\n"):
                raise ValueError("token must be a non-empty single line")
            base.append(("authorization", f"Bearer {token}"))
        self._metadata = tuple(base)

    def timeout(self, service: str, method: str, timeout: Optional[float]) -> Optional[float]:
        if timeout is not None:
            if not timeout > 0:
                raise ValueError(f"timeout must be > 0, got {timeout}")
            return timeout
        if self._default_timeout is not None:
            return self._default_timeout
        return self._config.timeout(service, method)

    def metadata(self, metadata: Optional[Metadata]) -> Optional[Tuple]:
        if not metadata:
            return self._metadata or None
        return self._metadata + tuple(metadata)


def channel_target_options(config: _config.ServiceConfig, health_checking: bool,
                           options: Optional[Sequence[Tuple[str, object]]]):
    return list(options or ()) + config.channel_options(health_checking=health_checking)


class _Health:
    """grpc.health.v1 messages, from a descriptor set generated at build time
    (health.binpb) and loaded into a pool of their own, so that a program
    that imports other generated health code does not clash with this."""

    def __init__(self):
        files = descriptor_pb2.FileDescriptorSet()
        files.ParseFromString(resources.files(__package__).joinpath(
            "health.binpb").read_bytes())
        pool = descriptor_pool.DescriptorPool()
        for f in files.file:
            pool.Add(f)
        get_class = getattr(message_factory, "GetMessageClass", None)
        if get_class is None:
            factory = message_factory.MessageFactory(pool)
            get_class = factory.GetPrototype
        self.request = get_class(pool.FindMessageTypeByName("grpc.health.v1.HealthCheckRequest"))
        self.response = get_class(pool.FindMessageTypeByName("grpc.health.v1.HealthCheckResponse"))
        enum = pool.FindEnumTypeByName("grpc.health.v1.HealthCheckResponse.ServingStatus")
        self.status_names = {v.number: v.name for v in enum.values}


_HEALTH: Optional[_Health] = None


def health() -> _Health:
    global _HEALTH
    if _HEALTH is None:
        _HEALTH = _Health()
    return _HEALTH


HEALTH_CHECK = "/grpc.health.v1.Health/Check"


class ClientCore:
    """The construction both clients share (tutoring_client.aio.Client and
    tutoring_client.Client): the target checked, the service config loaded,
    credentials and per-call options built, the call channel and its stub.
    Subclasses provide _make_channel for their flavour of grpc channel."""

    def __init__(self, target: str, *, credentials: Optional[grpc.ChannelCredentials] = None,
                 root_certificates: Optional[PathLike] = None,
                 certificate_chain: Optional[PathLike] = None,
                 private_key: Optional[PathLike] = None,
                 token: Optional[str] = None,
                 default_timeout: Optional[float] = None,
                 metadata: Optional[Metadata] = None,
                 options: Optional[Sequence[Tuple[str, object]]] = None):
        if not target:
            raise ValueError("target must not be empty")
        self._target = target
        self._config = _config.default()
        self._calls = CallOptions(self._config, default_timeout, token, metadata)
        self._credentials = channel_credentials(
            credentials, root_certificates, certificate_chain, private_key)
        self._extra_options = options
        self._channel = self._make_channel(health_checking=True)
        self._health_channel = None
        self._stub = pb_grpc.TutoringServiceStub(self._channel)

    def _make_channel(self, *, health_checking: bool):
        raise NotImplementedError

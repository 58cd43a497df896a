"""The asyncio client of tutoring.v1.TutoringService (grpc.aio).

    async with tutoring_client.aio.Client("127.0.0.1:50051") as client:
        streak = await client.get_streak(42, time_zone="Europe/Berlin")
        async for user in client.iter_active_users(role=tutoring_client.Role.ROLE_STUDENT):
            ...

One Client serves any number of concurrent calls over one channel (HTTP/2
multiplexing); create it once per process (e.g. when the application
starts) and share it. Calls return the generated response messages
(tutoring.v1.tutoring_pb2) and raise tutoring_client.RpcError subclasses.
Retries of UNAVAILABLE, the per-method default timeouts, round_robin and
client-side health checking come from the service config shipped with the
package (the project's client/service_config.json).
"""

from __future__ import annotations

from typing import AsyncIterator, Iterable, Optional

import grpc
import grpc.aio

from tutoring.v1 import tutoring_pb2 as pb
from tutoring.v1 import tutoring_pb2_grpc as pb_grpc

from . import _common, _config
from .errors import Internal, from_grpc


class Client(_common.ClientCore):
    """Asynchronous client; see the module docstring.

    target: any gRPC target ("host:port", "dns:///host:port", ...).
    credentials: grpc.ChannelCredentials for TLS; or root_certificates
      (PEM file of the CAs to trust), and for mutual TLS certificate_chain and
      private_key (PEM files). Neither: plaintext.
    token: sent as "authorization: Bearer <token>" on every call.
    default_timeout: seconds, for calls made without timeout=; None: each
      method's timeout in the service config.
    metadata: sent on every call (before a call's own metadata).
    options: extra gRPC channel arguments; they take precedence over the
      client's own (e.g. ("grpc.enable_retries", 0) turns retries off).
    """

    def _make_channel(self, *, health_checking: bool) -> grpc.aio.Channel:
        options = _common.channel_target_options(self._config, health_checking, self._extra_options)
        if self._credentials is None:
            return grpc.aio.insecure_channel(self._target, options=options)
        return grpc.aio.secure_channel(self._target, self._credentials, options=options)

    async def __aenter__(self) -> "Client":
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    async def close(self) -> None:
        """Closes the channels; calls in flight are cancelled."""
        await self._channel.close()
        if self._health_channel is not None:
            await self._health_channel.close()

    async def _call(self, name: str, request, timeout: Optional[float], metadata):
        rpc = getattr(self._stub, name)
        try:
            return await rpc(request,
                             timeout=self._calls.timeout(_config.SERVICE, name, timeout),
                             metadata=self._calls.metadata(metadata))
        except grpc.aio.AioRpcError as error:
            raise from_grpc(error) from None

    async def get_user_role(self, user_id: int, *, timeout: Optional[float] = None,
                            metadata: Optional[_common.Metadata] = None) -> pb.GetUserRoleResponse:
        return await self._call("GetUserRole", pb.GetUserRoleRequest(user_id=user_id),
                                timeout, metadata)

    async def get_streak(self, user_id: int, *, time_zone: str = "", as_of: _common.AsOf = None,
                         timeout: Optional[float] = None,
                         metadata: Optional[_common.Metadata] = None) -> pb.Streak:
        return await self._call("GetStreak", _common.get_streak_request(user_id, time_zone, as_of),
                                timeout, metadata)

    async def batch_get_streaks(self, user_ids: Iterable[int], *, time_zone: str = "",
                                as_of: _common.AsOf = None, timeout: Optional[float] = None,
                                metadata: Optional[_common.Metadata] = None
                                ) -> pb.BatchGetStreaksResponse:
        return await self._call("BatchGetStreaks",
                                _common.batch_get_streaks_request(user_ids, time_zone, as_of),
                                timeout, metadata)

    async def list_active_users(self, *, role: int = pb.ROLE_UNSPECIFIED,
                                pending_onboarding_only: bool = False, page_size: int = 0,
                                page_token: str = "", timeout: Optional[float] = None,
                                metadata: Optional[_common.Metadata] = None
                                ) -> pb.ListActiveUsersResponse:
        request = pb.ListActiveUsersRequest(role=role, pending_onboarding_only=pending_onboarding_only,
                                            page_size=page_size, page_token=page_token)
        return await self._call("ListActiveUsers", request, timeout, metadata)

    async def list_users_by_role(self, role: int, *, page_size: int = 0, page_token: str = "",
                                 timeout: Optional[float] = None,
                                 metadata: Optional[_common.Metadata] = None
                                 ) -> pb.ListUsersByRoleResponse:
        request = pb.ListUsersByRoleRequest(role=role, page_size=page_size, page_token=page_token)
        return await self._call("ListUsersByRole", request, timeout, metadata)

    async def list_exercises(self, difficulty: int, *, programming_language: str = "",
                             page_size: int = 0, page_token: str = "",
                             timeout: Optional[float] = None,
                             metadata: Optional[_common.Metadata] = None
                             ) -> pb.ListExercisesResponse:
        request = pb.ListExercisesRequest(difficulty=difficulty,
                                          programming_language=programming_language,
                                          page_size=page_size, page_token=page_token)
        return await self._call("ListExercises", request, timeout, metadata)

    async def _walk(self, list_call, items: str, kwargs) -> AsyncIterator:
        token = kwargs.pop("page_token", "")
        while True:
            page = await list_call(page_token=token, **kwargs)
            for item in getattr(page, items):
                yield item
            if not page.next_page_token:
                return
            if page.next_page_token == token:
                raise Internal("the server returned the page token it was given; stopping the walk")
            token = page.next_page_token

    def iter_active_users(self, **kwargs) -> AsyncIterator[pb.User]:
        """Every active user, page after page (list_active_users' arguments;
        timeout= applies to each page)."""
        return self._walk(self.list_active_users, "users", kwargs)

    def iter_users_by_role(self, role: int, **kwargs) -> AsyncIterator[pb.User]:
        """Every user of `role`, page after page."""
        return self._walk(lambda **kw: self.list_users_by_role(role, **kw), "users", kwargs)

    def iter_exercises(self, difficulty: int, **kwargs) -> AsyncIterator[pb.Exercise]:
        """Every exercise of `difficulty` (and programming_language=), page
        after page."""
        return self._walk(lambda **kw: self.list_exercises(difficulty, **kw), "exercises", kwargs)

    async def check_health(self, service: str = "", *, timeout: Optional[float] = None) -> str:
        """grpc.health.v1.Health/Check: "SERVING", "NOT_SERVING", ... for
        `service` ("" = the server, "tutoring.v1.TutoringService" = the API);
        NotFound for a name the server does not know. Not retried. Sent on a
        channel of its own without client-side health checking, so that a
        server reporting NOT_SERVING can say so."""
        health = _common.health()
        if self._health_channel is None:
            self._health_channel = self._make_channel(health_checking=False)
        check = self._health_channel.unary_unary(
            _common.HEALTH_CHECK, request_serializer=health.request.SerializeToString,
            response_deserializer=health.response.FromString)
        try:
            response = await check(health.request(service=service),
                                   timeout=self._calls.timeout(_config.HEALTH_SERVICE, "Check", timeout),
                                   metadata=self._calls.metadata(None))
        except grpc.aio.AioRpcError as error:
            raise from_grpc(error) from None
        return health.status_names.get(response.status, "UNKNOWN")


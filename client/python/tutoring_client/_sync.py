"""The blocking client (tutoring_client.Client), for scripts: the methods of
tutoring_client.aio.Client, as plain calls and generators."""

from __future__ import annotations

from typing import Iterable, Iterator, Optional

import grpc

from tutoring.v1 import tutoring_pb2 as pb
from tutoring.v1 import tutoring_pb2_grpc as pb_grpc

from . import _common, _config
from .errors import Internal, from_grpc


class Client(_common.ClientCore):
    """Blocking client; the arguments of tutoring_client.aio.Client. Usable as
    a context manager (closes the channels). Thread-safe."""

    def _make_channel(self, *, health_checking: bool) -> grpc.Channel:
        options = _common.channel_target_options(self._config, health_checking, self._extra_options)
        if self._credentials is None:
            return grpc.insecure_channel(self._target, options=options)
        return grpc.secure_channel(self._target, self._credentials, options=options)

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._channel.close()
        if self._health_channel is not None:
            self._health_channel.close()

    def _call(self, name: str, request, timeout: Optional[float], metadata):
        rpc = getattr(self._stub, name)
        try:
            return rpc(request, timeout=self._calls.timeout(_config.SERVICE, name, timeout),
                       metadata=self._calls.metadata(metadata))
        except grpc.RpcError as error:
            raise from_grpc(error) from None

    def get_user_role(self, user_id: int, *, timeout: Optional[float] = None,
                      metadata: Optional[_common.Metadata] = None) -> pb.GetUserRoleResponse:
        return self._call("GetUserRole", pb.GetUserRoleRequest(user_id=user_id), timeout, metadata)

    def get_streak(self, user_id: int, *, time_zone: str = "", as_of: _common.AsOf = None,
                   timeout: Optional[float] = None,
                   metadata: Optional[_common.Metadata] = None) -> pb.Streak:
        return self._call("GetStreak", _common.get_streak_request(user_id, time_zone, as_of),
                          timeout, metadata)

    def batch_get_streaks(self, user_ids: Iterable[int], *, time_zone: str = "",
                          as_of: _common.AsOf = None, timeout: Optional[float] = None,
                          metadata: Optional[_common.Metadata] = None) -> pb.BatchGetStreaksResponse:
        return self._call("BatchGetStreaks",
                          _common.batch_get_streaks_request(user_ids, time_zone, as_of),
                          timeout, metadata)

    def list_active_users(self, *, role: int = pb.ROLE_UNSPECIFIED,
                          pending_onboarding_only: bool = False, page_size: int = 0,
                          page_token: str = "", timeout: Optional[float] = None,
                          metadata: Optional[_common.Metadata] = None) -> pb.ListActiveUsersResponse:
        request = pb.ListActiveUsersRequest(role=role, pending_onboarding_only=pending_onboarding_only,
                                            page_size=page_size, page_token=page_token)
        return self._call("ListActiveUsers", request, timeout, metadata)

    def list_users_by_role(self, role: int, *, page_size: int = 0, page_token: str = "",
                           timeout: Optional[float] = None,
                           metadata: Optional[_common.Metadata] = None) -> pb.ListUsersByRoleResponse:
        request = pb.ListUsersByRoleRequest(role=role, page_size=page_size, page_token=page_token)
        return self._call("ListUsersByRole", request, timeout, metadata)

    def list_exercises(self, difficulty: int, *, programming_language: str = "",
                       page_size: int = 0, page_token: str = "", timeout: Optional[float] = None,
                       metadata: Optional[_common.Metadata] = None) -> pb.ListExercisesResponse:
        request = pb.ListExercisesRequest(difficulty=difficulty,
                                          programming_language=programming_language,
                                          page_size=page_size, page_token=page_token)
        return self._call("ListExercises", request, timeout, metadata)

    def _walk(self, list_call, items: str, kwargs) -> Iterator:
        token = kwargs.pop("page_token", "")
        while True:
            page = list_call(page_token=token, **kwargs)
            yield from getattr(page, items)
            if not page.next_page_token:
                return
            if page.next_page_token == token:
                raise Internal("the server returned the page token it was given; stopping the walk")
            token = page.next_page_token

    def iter_active_users(self, **kwargs) -> Iterator[pb.User]:
        return self._walk(self.list_active_users, "users", kwargs)

    def iter_users_by_role(self, role: int, **kwargs) -> Iterator[pb.User]:
        return self._walk(lambda **kw: self.list_users_by_role(role, **kw), "users", kwargs)

    def iter_exercises(self, difficulty: int, **kwargs) -> Iterator[pb.Exercise]:
        return self._walk(lambda **kw: self.list_exercises(difficulty, **kw), "exercises", kwargs)

    def check_health(self, service: str = "", *, timeout: Optional[float] = None) -> str:
        health = _common.health()
        if self._health_channel is None:
            self._health_channel = self._make_channel(health_checking=False)
        check = self._health_channel.unary_unary(
            _common.HEALTH_CHECK, request_serializer=health.request.SerializeToString,
            response_deserializer=health.response.FromString)
        try:
            response = check(health.request(service=service),
                             timeout=self._calls.timeout(_config.HEALTH_SERVICE, "Check", timeout),
                             metadata=self._calls.metadata(None))
        except grpc.RpcError as error:
            raise from_grpc(error) from None
        return health.status_names.get(response.status, "UNKNOWN")

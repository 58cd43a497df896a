"""Errors of tutoring_client: one exception class per gRPC status code.

Every failed call raises a subclass of RpcError named after its code
(NotFound, InvalidArgument, Unavailable, DeadlineExceeded, ...), carrying
.code (a grpc.StatusCode) and .details (the server's message, which names
the field and the rule for INVALID_ARGUMENT).
"""

from __future__ import annotations

from typing import Dict, Optional, Type

import grpc


class RpcError(Exception):
    """A call ended with a status other than OK."""

    code: grpc.StatusCode = grpc.StatusCode.UNKNOWN

    def __init__(self, details: str = "", code: Optional[grpc.StatusCode] = None):
        super().__init__(details)
        if code is not None:
            self.code = code
        self.details = details

    def __str__(self) -> str:
        return f"{self.code.name}: {self.details}"


class Cancelled(RpcError):
    code = grpc.StatusCode.CANCELLED


class Unknown(RpcError):
    code = grpc.StatusCode.UNKNOWN


class InvalidArgument(RpcError):
    code = grpc.StatusCode.INVALID_ARGUMENT


class DeadlineExceeded(RpcError):
    code = grpc.StatusCode.DEADLINE_EXCEEDED


class NotFound(RpcError):
    code = grpc.StatusCode.NOT_FOUND


class AlreadyExists(RpcError):
    code = grpc.StatusCode.ALREADY_EXISTS


class PermissionDenied(RpcError):
    code = grpc.StatusCode.PERMISSION_DENIED


class ResourceExhausted(RpcError):
    code = grpc.StatusCode.RESOURCE_EXHAUSTED


class FailedPrecondition(RpcError):
    code = grpc.StatusCode.FAILED_PRECONDITION


class Aborted(RpcError):
    code = grpc.StatusCode.ABORTED


class OutOfRange(RpcError):
    code = grpc.StatusCode.OUT_OF_RANGE


class Unimplemented(RpcError):
    code = grpc.StatusCode.UNIMPLEMENTED


class Internal(RpcError):
    code = grpc.StatusCode.INTERNAL


class Unavailable(RpcError):
    code = grpc.StatusCode.UNAVAILABLE


class DataLoss(RpcError):
    code = grpc.StatusCode.DATA_LOSS


class Unauthenticated(RpcError):
    code = grpc.StatusCode.UNAUTHENTICATED


_BY_CODE: Dict[grpc.StatusCode, Type[RpcError]] = {
    cls.code: cls
    for cls in (Cancelled, Unknown, InvalidArgument, DeadlineExceeded, NotFound,
                AlreadyExists, PermissionDenied, ResourceExhausted,
                FailedPrecondition, Aborted, OutOfRange, Unimplemented,
                Internal, Unavailable, DataLoss, Unauthenticated)
}


def error_class(code: grpc.StatusCode) -> Type[RpcError]:
    """The RpcError subclass of `code` (RpcError itself for OK)."""
    return _BY_CODE.get(code, RpcError)


def from_grpc(error: grpc.RpcError) -> RpcError:
    """The RpcError subclass instance for a grpc (or grpc.aio) error."""
    code = error.code() if callable(getattr(error, "code", None)) else grpc.StatusCode.UNKNOWN
    details = error.details() if callable(getattr(error, "details", None)) else str(error)
    cls = error_class(code)
    return cls(details or "", code)

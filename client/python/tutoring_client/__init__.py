"""Python client of tutoring.v1.TutoringService.

    import tutoring_client
    async with tutoring_client.aio.Client("127.0.0.1:50051") as client:
        streak = await client.get_streak(42, time_zone="UTC")

tutoring_client.aio.Client is the asyncio client, tutoring_client.Client its
blocking twin. Errors are subclasses of tutoring_client.RpcError named after
the gRPC code. The generated messages are tutoring.v1.tutoring_pb2 (also
here as tutoring_client.pb), enums as tutoring_client.Role and
tutoring_client.Difficulty.
"""

from tutoring.v1 import tutoring_pb2 as pb

from . import aio
from ._sync import Client
from .errors import (Aborted, AlreadyExists, Cancelled, DataLoss, DeadlineExceeded,
                     FailedPrecondition, Internal, InvalidArgument, NotFound, OutOfRange,
                     PermissionDenied, ResourceExhausted, RpcError, Unauthenticated,
                     Unavailable, Unimplemented, Unknown, error_class)

Role = pb.Role
Difficulty = pb.Difficulty
ExerciseStatus = pb.ExerciseStatus

try:
    from importlib.metadata import PackageNotFoundError, version as _version
    __version__ = _version("tutoring_client")
except PackageNotFoundError:  # imported from a build folder, not installed
    __version__ = "0+local"

__all__ = [
    "Aborted", "AlreadyExists", "Cancelled", "Client", "DataLoss", "DeadlineExceeded",
    "Difficulty", "ExerciseStatus", "FailedPrecondition", "Internal", "InvalidArgument",
    "NotFound", "OutOfRange", "PermissionDenied", "ResourceExhausted", "Role", "RpcError",
    "Unauthenticated", "Unavailable", "Unimplemented", "Unknown", "aio", "error_class", "pb",
]

#!/usr/bin/env python3
"""Builds the tutoring_client wheel (py3-none-any) from the sources in this
folder, stubs generated from proto/ with protoc and grpc_python_plugin
(messages, gRPC stubs and .pyi type stubs), the project's
client/service_config.json and a descriptor set of grpc.health.v1.

Run by the default CMake build (client/python/CMakeLists.txt); needs only
Debian's protoc and grpc_python_plugin, nothing downloaded. The wheel is
written by hand (a zip with the .dist-info files PEP 427 asks for), so no
build backend has to be installed.
"""

import argparse
import base64
import hashlib
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

NAME = "tutoring_client"
HERE = Path(__file__).resolve().parent


def run(*command):
    subprocess.run(command, check=True)


def record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return "sha256=" + digest.decode()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--version", required=True)
    parser.add_argument("--proto-dir", required=True, help="the project's proto/")
    parser.add_argument("--health-proto-dir", required=True,
                        help="import root holding grpc/health/v1/health.proto")
    parser.add_argument("--service-config", required=True)
    parser.add_argument("--protoc", default="protoc")
    parser.add_argument("--grpc-python-plugin", default="grpc_python_plugin")
    parser.add_argument("--work-dir", required=True, help="scratch; emptied first")
    parser.add_argument("--out-dir", required=True, help="where the .whl goes")
    args = parser.parse_args()

    work = Path(args.work_dir)
    stage = work / "stage"
    if work.exists():
        shutil.rmtree(work)
    stage.mkdir(parents=True)

    package = stage / NAME
    shutil.copytree(HERE / NAME, package, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copyfile(args.service_config, package / "service_config.json")
    (package / "py.typed").write_text("")

    plugin = shutil.which(args.grpc_python_plugin) or args.grpc_python_plugin
    run(args.protoc, f"-I{args.proto_dir}", f"--python_out={stage}", f"--pyi_out={stage}",
        f"--grpc_python_out={stage}", f"--plugin=protoc-gen-grpc_python={plugin}",
        "tutoring/v1/tutoring.proto")
    for init in (stage / "tutoring" / "__init__.py", stage / "tutoring" / "v1" / "__init__.py"):
        init.write_text("")
    (stage / "tutoring" / "py.typed").write_text("")
    run(args.protoc, f"-I{args.health_proto_dir}",
        f"--descriptor_set_out={package / 'health.binpb'}", "grpc/health/v1/health.proto")

    dist_info = f"{NAME}-{args.version}.dist-info"
    metadata = "\n".join([
        "Metadata-Version: 2.1",
        f"Name: {NAME}",
        f"Version: {args.version}",
        "Summary: asyncio and blocking Python client of tutoring.v1.TutoringService",
        "Requires-Python: >=3.9",
        "Requires-Dist: grpcio>=1.51",
        "Requires-Dist: protobuf>=3.21",
        "",
        "Generated messages and stubs of proto/tutoring/v1/tutoring.proto (package",
        "tutoring.v1) and the client in tutoring_client (see its docstring).",
        "",
    ])
    wheel = "\n".join(["Wheel-Version: 1.0", "Generator: tutoring build_wheel.py",
                       "Root-Is-Purelib: true", "Tag: py3-none-any", ""])
    files = sorted(p for p in stage.rglob("*") if p.is_file())
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob(f"{NAME}-*.whl"):
        old.unlink()
    target = out / f"{NAME}-{args.version}-py3-none-any.whl"
    records = []
    # Fixed timestamps: the same sources make the same wheel.
    stamp = (1980, 1, 1, 0, 0, 0)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        def add(name: str, data: bytes):
            info = zipfile.ZipInfo(name, stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
            records.append(f"{name},{record_hash(data)},{len(data)}")
        for path in files:
            add(path.relative_to(stage).as_posix(), path.read_bytes())
        add(f"{dist_info}/METADATA", metadata.encode())
        add(f"{dist_info}/WHEEL", wheel.encode())
        add(f"{dist_info}/top_level.txt", b"tutoring\ntutoring_client\n")
        records.append(f"{dist_info}/RECORD,,")
        info = zipfile.ZipInfo(f"{dist_info}/RECORD", stamp)
        info.external_attr = 0o644 << 16
        archive.writestr(info, "\n".join(records) + "\n")
    print(f"build_wheel: {target.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

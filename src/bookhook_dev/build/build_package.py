"""Make a `sam build` output start fast: `.venv-py312/bin/bookhook build-package .aws-sam/build`.

Run with the Python of the Lambda runtime (bytecode is per version): `make build` runs it from
.venv-py312 (`python3.12 -m bookhook_dev.build.build_package DIR`, with PYTHONPATH=src, is the same).
For each function directory:
1. remove what the Lambda Python runtime already provides (boto3, botocore, s3transfer, jmespath,
   python-dateutil, six: pulled in by aws-xray-sdk) and what is never imported (type stubs, the
   requirements file);
2. compile every module to *unchecked hash-based* .pyc (PEP 552). `sam deploy` zips files with
   1980 timestamps and Lambda's filesystem is read-only, so timestamp-based bytecode would be
   stale and every cold start would compile from source; unchecked hash-based bytecode is used
   as it is. The package is immutable once deployed, so skipping the source check is safe.
Standard library only, so it runs under any interpreter without the project's dependencies.
"""

from __future__ import annotations

import argparse
import compileall
import py_compile
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

from bookhook_dev.tools import cli  # standard library only, like this module

RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six")
NEVER_IMPORTED = ("wrapt-stubs", "requirements.txt")


def _removable(entry: Path) -> bool:
    name = entry.name
    stem = name.split("-", 1)[0].lower().replace("python_", "")
    if name in NEVER_IMPORTED:
        return True
    if name.endswith((".dist-info", ".data")):
        return stem in RUNTIME_PROVIDED
    return name.removesuffix(".py") in RUNTIME_PROVIDED


def prune(package: Path) -> list[str]:
    removed = []
    for entry in sorted(package.iterdir()):
        if _removable(entry):
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
            removed.append(entry.name)
    for cache in package.rglob("__pycache__"):
        shutil.rmtree(cache, ignore_errors=True)
    return removed


def compile_package(package: Path) -> bool:
    return compileall.compile_dir(
        package,
        quiet=1,
        workers=0,
        invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
    )


def size_bytes(package: Path) -> int:
    return sum(path.stat().st_size for path in package.rglob("*") if path.is_file())


def configure(parser: argparse.ArgumentParser) -> Callable[[argparse.Namespace], int]:
    """`bookhook build-package`'s options."""
    parser.add_argument(
        "build_dir",
        nargs="?",
        type=Path,
        default=Path(".aws-sam/build"),
        metavar="BUILD_DIR",
        help="what `sam build` wrote, one folder per function (default .aws-sam/build); changed in place",
    )
    return run


def run(args: argparse.Namespace) -> int:
    build_dir: Path = args.build_dir
    candidates = sorted(build_dir.iterdir()) if build_dir.is_dir() else []
    functions = [directory for directory in candidates if (directory / "bookhook").is_dir()]
    if not functions:
        raise cli.CommandError(f"no function packages under {build_dir}: run `sam build` first")
    for package in functions:
        before = size_bytes(package)
        removed = prune(package)
        if not compile_package(package):
            raise cli.CommandError(f"{package}: compilation failed (the errors are above)")
        print(
            f"{package}: removed {', '.join(removed) or 'nothing'}; "
            f"{before / 1e6:.1f} MB -> {size_bytes(package) / 1e6:.1f} MB with hash-based bytecode "
            f"for Python {sys.version_info.major}.{sys.version_info.minor}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(cli.main(["build-package", *sys.argv[1:]]))

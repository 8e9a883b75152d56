"""Make a `sam build` output start fast: `python3.12 -m bookhook_dev.build_package .aws-sam/build`.

Run with the Python of the Lambda runtime (bytecode is per version). For each function directory:
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

import compileall
import py_compile
import shutil
import sys
from pathlib import Path

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


def main(argv: list[str]) -> int:
    build_dir = Path(argv[0]) if argv else Path(".aws-sam/build")
    candidates = sorted(build_dir.iterdir()) if build_dir.is_dir() else []
    functions = [directory for directory in candidates if (directory / "bookhook").is_dir()]
    if not functions:
        print(f"no function packages under {build_dir}: run `sam build` first", file=sys.stderr)
        return 1
    for package in functions:
        before = size_bytes(package)
        removed = prune(package)
        if not compile_package(package):
            print(f"{package}: compilation failed", file=sys.stderr)
            return 1
        print(
            f"{package}: removed {', '.join(removed) or 'nothing'}; "
            f"{before / 1e6:.1f} MB -> {size_bytes(package) / 1e6:.1f} MB with hash-based bytecode "
            f"for Python {sys.version_info.major}.{sys.version_info.minor}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

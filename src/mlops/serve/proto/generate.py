"""Generate ``inference_pb2.py`` from ``inference.proto`` (`make proto`; needs grpcio-tools).

The messages go into a descriptor pool of their own, not protobuf's default one: a process that
also imports another client of the same protocol (tritonclient, kserve) would otherwise hold the
``inference.*`` names twice and fail to import the second.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
DEFAULT_POOL = "_descriptor_pool.Default().AddSerializedFile("
OWN_POOL = "_descriptor_pool.DescriptorPool().AddSerializedFile("


def generate(out: Path) -> Path:
    """Write ``inference_pb2.py`` into ``out`` and return its path."""
    subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", f"-I{HERE}", f"--python_out={out}",
         str(HERE / "inference.proto")],
        check=True,
    )  # fmt: skip
    path = out / "inference_pb2.py"
    text = path.read_text()
    if DEFAULT_POOL not in text:
        raise SystemExit(f"{path}: protoc's output changed; {DEFAULT_POOL!r} not found")
    path.write_text(text.replace(DEFAULT_POOL, OWN_POOL))
    return path


if __name__ == "__main__":
    print(f"proto: wrote {generate(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)}")

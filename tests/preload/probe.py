"""A program for the launcher's tests: prints as JSON what a process can observe of how it was
started (argv, cwd, an environment variable, stdin, its parent, its pid), then exits as its
arguments say: ``exit N``, ``raise``, ``stdin`` (echo it), ``wait`` (until a signal). Run as
`python -m tests.preload.probe` or through a console script that calls main()."""

import json
import os
import sys


def main() -> None:
    action = sys.argv[1] if len(sys.argv) > 1 else ""
    seen = {
        "argv": sys.argv,
        "cwd": os.getcwd(),
        "path0": sys.path[0],
        "probe": os.environ.get("PROBE"),
        "parent": os.getppid(),
        "pid": os.getpid(),
        "stdin": sys.stdin.read() if action == "stdin" else None,
        "json": getattr(json, "SHADOW", None),
        "umask": os.umask(0),
    }
    print(json.dumps(seen), flush=True)
    print("probe on stderr", file=sys.stderr)
    if action == "exit":
        sys.exit(int(sys.argv[2]))
    if action == "raise":
        raise ValueError("the probe raised")
    if action == "wait":
        import time

        time.sleep(60)


if __name__ == "__main__":
    main()

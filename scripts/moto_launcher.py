#!/usr/bin/env python3
"""Start the local AWS emulator (moto's server inside the test bed) on 127.0.0.1 on a free port.

The first line on stdout is `PORT=<n>`. `--profile plain` (the default) is moto as it is;
`--profile realistic` adds AWS's provisioning times, ordering rules and the details moto drops
(see tests/testbed/). Binding port 0 here avoids racing other tests for a port.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from testbed.server import main  # noqa: E402

if __name__ == "__main__":
    main()

"""Self-test of the demo's image helper: it refuses anything but a loopback endpoint."""
import os
import subprocess
import sys
import unittest
from pathlib import Path

SCRIPT = Path(__file__).with_name("push_fake_image.py")


class RefusesRemoteEndpoints(unittest.TestCase):
    def run_with(self, endpoint: str) -> subprocess.CompletedProcess:
        env = dict(os.environ, AWS_ENDPOINT_URL=endpoint)
        return subprocess.run(
            [sys.executable, str(SCRIPT), "123456789012.dkr.ecr.eu-west-1.amazonaws.com/a:1"],
            env=env, capture_output=True, text=True, timeout=60,
        )

    def test_refuses_a_real_aws_endpoint(self):
        result = self.run_with("https://ecr.eu-west-1.amazonaws.com")
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("refusing", result.stderr)

    def test_refuses_a_private_address(self):
        result = self.run_with("http://10.0.0.5:5000")
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("refusing", result.stderr)


if __name__ == "__main__":
    unittest.main()

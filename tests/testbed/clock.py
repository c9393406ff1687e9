"""One clock for every simulated duration, with a time scale.

AWS durations are written in AWS seconds (an NLB takes 150 s to become active); the clock
turns them into wall-clock seconds with `scale` (default 1/100, so 150 s becomes 1.5 s).
"""
import threading
import time
from datetime import datetime, timezone


class Clock:
    def __init__(self, scale: float = 0.01):
        self.scale = scale
        self._lock = threading.Lock()
        # Wall-clock time (time.time) minus monotonic time, fixed once so timestamps agree.
        self._epoch = time.time() - time.monotonic()

    def now(self) -> float:
        """Wall-clock seconds (monotonic)."""
        return time.monotonic()

    def aws_since(self, start: float) -> float:
        """AWS seconds elapsed since `start` (a value of `now()`)."""
        return (self.now() - start) / self.scale

    def wall(self, aws_seconds: float) -> float:
        """Wall-clock seconds for a duration in AWS seconds."""
        return aws_seconds * self.scale

    def utc(self, moment: float) -> datetime:
        """The date and time of a `now()` value, for the timestamps AWS answers with."""
        return datetime.fromtimestamp(self._epoch + moment, timezone.utc)


CLOCK = Clock()

"""What the patches share across services: network interfaces that outlive their owners, and
who still uses a subnet or a security group."""
import threading

from . import settings
from .clock import CLOCK

_lock = threading.Lock()
# (owner description, subnet ids, security group ids, wall-clock time they are gone)
_lingering: list[tuple[str, frozenset, frozenset, float]] = []


def linger(owner: str, subnets, groups, after_aws_seconds: float = 0.0, until: float | None = None) -> None:
    """Records that `owner`'s network interfaces stay in `subnets` / `groups` for a while:
    `after_aws_seconds` then `eni_linger` from now, or until the `CLOCK.now()` value `until`."""
    gone = until if until is not None else CLOCK.now() + CLOCK.wall(after_aws_seconds + settings.DURATIONS["eni_linger"])
    with _lock:
        _lingering.append((owner, frozenset(subnets or ()), frozenset(groups or ()), gone))


def hold(owner: str, subnets, groups) -> None:
    """Records that `owner`'s network interfaces are in `subnets` / `groups` until released."""
    linger(owner, subnets, groups, until=float("inf"))


def release(owner: str, after_aws_seconds: float = 0.0) -> None:
    """`owner`'s held interfaces go: they linger `after_aws_seconds` then `eni_linger`."""
    gone = CLOCK.now() + CLOCK.wall(after_aws_seconds + settings.DURATIONS["eni_linger"])
    with _lock:
        _lingering[:] = [
            (o, subnets, groups, min(until, gone) if o == owner else until)
            for o, subnets, groups, until in _lingering
        ]


def lingering_in(subnet_id: str | None = None, group_id: str | None = None) -> list[str]:
    """Owners whose interfaces are still in the subnet or group."""
    now = CLOCK.now()
    with _lock:
        _lingering[:] = [entry for entry in _lingering if entry[3] > now]
        return [
            owner
            for owner, subnets, groups, _ in _lingering
            if (subnet_id and subnet_id in subnets) or (group_id and group_id in groups)
        ]


def reset() -> None:
    with _lock:
        _lingering.clear()

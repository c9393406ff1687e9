"""The test bed's switches, and the two profiles.

Settings are a plain dict so tests can send them as JSON (`POST /_testbed/config`):

    {"scale": 0.01, "provisioning": true, "ordering": true, "fidelity": true,
     "rate_limits": true,
     "faults": {"seed": 7, "rules": [{"match": "*", "throttle": 0.2, "error": 0.05,
                                        "latency_ms": 0, "latency": 0.0, "lost": 0.0}]}}

A fault rule's `match` is `*`, a service (`ec2`), or `service.Operation` (`ec2.CreateVpc`);
`creates_only` limits it to operations whose name starts with Create/Register/Put. The first
matching rule applies.
"""
import copy

# AWS seconds.
DURATIONS = {
    "nlb_active": 150,
    "vpc_link_available": 180,
    "vpc_link_failed": 60,
    "vpc_link_deleting": 60,
    "endpoint_available": 90,
    "endpoint_deleting": 60,
    "service_steady": 150,
    "service_draining": 60,
    "eni_linger": 120,
}

# Rate limits: (bucket size, refill per AWS second).
RATE_LIMITS = {
    "apigateway.DeleteRestApi": (1, 1 / 30),
    "apigateway.CreateDeployment": (1, 1 / 5),
    "ec2.CreateVpcEndpoint": (4, 0.3),
}

PLAIN = {
    "scale": 0.01,
    "provisioning": False,
    "ordering": False,
    "fidelity": False,
    "rate_limits": False,
    "faults": {"seed": 1, "rules": []},
}

REALISTIC = {
    "scale": 0.01,
    "provisioning": True,
    "ordering": True,
    "fidelity": True,
    "rate_limits": True,
    "faults": {"seed": 1, "rules": []},
}

PROFILES = {"plain": PLAIN, "realistic": REALISTIC}

_current = copy.deepcopy(PLAIN)


def current() -> dict:
    return _current


def on(switch: str) -> bool:
    return bool(_current.get(switch))


def replace(new: dict) -> None:
    """Replaces the settings (missing keys keep their plain-profile value)."""
    merged = copy.deepcopy(PLAIN)
    for key, value in new.items():
        if key not in merged:
            raise ValueError(f"unknown test bed setting {key!r}")
        merged[key] = value
    _current.clear()
    _current.update(merged)
    from .clock import CLOCK

    CLOCK.scale = float(_current["scale"])

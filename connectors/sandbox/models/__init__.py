"""The sandbox's state: it lives in the database so it survives restarts and is shared by every
web process. One module per fake; `common` holds what they share."""

from connectors.sandbox.models.common import (
    FaultProfile,
    InFlight,
    OutboundDelivery,
    RateWindow,
    RequestLog,
    Vendor,
)

__all__ = ["FaultProfile", "InFlight", "OutboundDelivery", "RateWindow", "RequestLog", "Vendor"]

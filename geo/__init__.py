"""Everything that knows about places, CRSs, files and URLs."""

from geo.claims import Claim, load_claims
from geo.errors import ClaimsFileError, GeoError, PortsFileError, UnknownPortError
from geo.ports import Port, PortGrid, Zone, get_port, load_ports

__all__ = [
    "Claim",
    "ClaimsFileError",
    "GeoError",
    "Port",
    "PortGrid",
    "PortsFileError",
    "UnknownPortError",
    "Zone",
    "get_port",
    "load_claims",
    "load_ports",
]

"""chargebox: an OCPP 1.6J charge-point engine whose behaviour is executable statecharts."""

__version__ = "0.1.0"

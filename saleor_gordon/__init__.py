"""saleor-gordon: a Saleor app that sends orders to Gordon Delivery."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("saleor-gordon")
except PackageNotFoundError:  # pragma: no cover - running from a bare source tree
    __version__ = "0.0.0"

"""The matrix: `matrix.toml` -> a frozen Matrix (pure data, read and checked once)."""

from ..errors import ConfigError
from .model import (
    AppSettings,
    ClientSpec,
    ConnectionSettings,
    ConnectionSpec,
    DatabaseSettings,
    LeaveOut,
    Matrix,
    Pinning,
    Profile,
    Rules,
    ServerSpec,
    UpstreamSettings,
)
from .reader import DEFAULT_MATRIX, load_matrix

__all__ = [
    "DEFAULT_MATRIX", "AppSettings", "ClientSpec", "ConfigError", "ConnectionSettings",
    "ConnectionSpec", "DatabaseSettings",
    "LeaveOut", "Matrix", "Pinning", "Profile", "Rules", "ServerSpec", "UpstreamSettings",
    "load_matrix",
]

"""dialer: a real-time outbound telephony dialer engine."""

__version__ = "0.1.0"

"""kefu (客服): an async customer-chat support desk that keeps a formal service standard."""

__version__ = "0.1.0"

"""The version of lambda-builder: part of every cache key and report."""

__version__ = "0.1.0"

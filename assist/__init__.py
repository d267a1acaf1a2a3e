"""Xiaoer (店小二): FAQ and agent-assist service for Chinese e-commerce customer service."""

__version__ = "0.1.0"
__all__ = ["__version__"]

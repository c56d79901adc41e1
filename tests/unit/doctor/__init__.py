"""Unit tests of doctor."""

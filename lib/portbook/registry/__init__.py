"""Readers and surgical editors for the four places a port lives."""

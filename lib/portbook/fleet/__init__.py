"""Fleets: an inventory of hosts, and every procedure run across them over SSH, rolling."""

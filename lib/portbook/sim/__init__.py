"""The demo system and the simulated SSH hosts it runs on."""

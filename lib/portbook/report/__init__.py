"""Human and JSON output for every command."""

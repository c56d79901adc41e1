"""Live state on a host: supervisord over XML-RPC, processes, listeners, strays, status."""

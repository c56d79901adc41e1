"""portbook: one command per mandatory procedure for supervisord-managed services."""

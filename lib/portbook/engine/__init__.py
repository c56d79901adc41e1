"""Step and Run, the journal, the lock, the audit log, and the runners."""

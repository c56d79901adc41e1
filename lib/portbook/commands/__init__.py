"""What a task calls: add, modify, rename, remove, restart, recover, doctor's fixes."""

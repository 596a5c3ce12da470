"""Running things and remembering that they ran: runs, steps and (later) whole workflows."""

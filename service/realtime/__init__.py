"""Real-time delivery: frame models, the event bus between processes, the hub of local sockets."""

"""Chats: the state machine, routing and the message store."""

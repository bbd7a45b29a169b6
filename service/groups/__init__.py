"""Groups (departments): which agents take the chats asked for, or transferred to, a group."""

"""Complaints: the notification table (信息通知表), classification, deadlines, follow-ups and
satisfaction. See docs/complaints.md."""

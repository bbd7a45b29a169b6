"""Attachments: files a customer or an agent sends in a chat (screenshots, receipts as PDF)."""

"""Attachments to idea versions: files committed by statements of their own."""

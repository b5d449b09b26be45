"""Invitation and reminder e-mails to candidates: each exam's wording, the queue of e-mails
with their delivery status, and the background mailer that sends them over SMTP."""

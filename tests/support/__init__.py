"""Real servers for tests: an SMTP server (aiosmtpd) and a scripted HTTP gateway."""

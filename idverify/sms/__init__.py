"""SMS senders: Twilio for production, a JSON-lines outbox file for development (both satisfy ``otp.SmsSender``)."""

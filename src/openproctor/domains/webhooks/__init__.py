"""Webhooks: signed JSON events delivered to other systems, retried until they answer."""

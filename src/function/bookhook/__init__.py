"""Booking webhooks (Zapier, Typeform, Stripe) turned into BizKitHub calendar events."""

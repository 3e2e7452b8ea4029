"""Customer messages: consent per program, outbound texts and alerts, Twilio plumbing."""

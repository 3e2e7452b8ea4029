"""Pages for customers: a bill opened from a link texted to them."""

"""One ComponentResource per platform service."""

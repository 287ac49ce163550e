"""The lakehouse platform: a Pulumi program that stands up every platform service."""

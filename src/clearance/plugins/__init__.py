"""Plug-ins that let other proxies enforce clearance's decisions (loaded by those proxies, not by clearance)."""

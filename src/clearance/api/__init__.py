"""Admin and remote-audit REST APIs (FastAPI): one router per resource."""

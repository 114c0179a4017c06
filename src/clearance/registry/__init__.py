"""The registry: live, dated state (entities, people, licences, suspensions, findings) over a bundle."""

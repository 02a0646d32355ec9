"""Sprint and project dashboards, the stakeholder demo, share links and demo material."""

"""Action items: what a postmortem says must change, with one owner, a due date, reminders and a digest."""

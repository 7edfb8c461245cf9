"""The inventory as files: import, export, spreadsheets, reports, graphs, calendars."""

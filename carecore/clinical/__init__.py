"""Clinical vocabulary shared by every app: pure Python, no Django, no database."""

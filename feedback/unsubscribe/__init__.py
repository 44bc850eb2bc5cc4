"""The customer's way out of Farewell's email: the unsubscribe page and the one-click POST."""

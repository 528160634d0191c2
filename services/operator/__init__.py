"""One command for operators: topics, consumer lag, dead-letter replay, rule reloads, audit, API keys."""

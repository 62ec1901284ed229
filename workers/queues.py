"""Celery queue names, by workload, so that a flood of one kind of work cannot starve another.

- `sohoa.small`: single images and short PDFs (ID cards, one-page forms): a desk is waiting.
- `sohoa.large`: long PDFs; their pages are fanned out to `sohoa.pages`.
- `sohoa.pages`: one page of a long PDF each.
- `sohoa.maintenance`: the sweeper that re-sends work the broker lost, the fixity audit, and
  webhook deliveries (`sohoa.webhooks`).
"""

SMALL = "sohoa.small"
LARGE = "sohoa.large"
PAGES = "sohoa.pages"
MAINTENANCE = "sohoa.maintenance"
QUEUES = (SMALL, LARGE, PAGES, MAINTENANCE)

"""The content team's report (`make report`, `python -m reports`): what patients asked over a
date range, read from the conversation store, with the questions left unanswered in their own
words, masked (issue 17, part 3). One module a step:

- `events.py` reads the tracker store's `events` table;
- `turns.py` works out what each message led to, from the events alone;
- `masking.py` masks personal details in what patients wrote;
- `summary.py` counts the turns in the range and picks the questions that may be quoted;
- `feedback.py` and `review.py` are the sections parts 2 and 1 of the issue fill in;
- `plots.py` draws the plots, `render.py` writes the Markdown, `report.py` puts them together.
"""

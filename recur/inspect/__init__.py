"""See inside a trained run: activations, gates, surprise, unit discovery, classifier word
contributions, condition effects and music, written as one self-contained HTML report.

``report_html(run, text)`` (in ``report.py``) returns the page for a run and a text; the CLI's
``recur inspect`` writes it with ``write_report``. This package file stays empty of imports so
the CLI can name the options without loading torch."""

"""``python -m feedback_nlp`` runs the command line."""

from feedback_nlp.cli import main

main()

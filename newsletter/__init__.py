"""ANNAobserva: the Inter-American Children's Institute's newsletter publisher.

The pipeline reads top to bottom: load issues (`issues`) → render Markdown (`markup`) → render
templates (`pages`, `feeds`, `emails`) → write the site (`site`) or deliver the mail (`delivery`).
"""

__version__ = "0.1.0"

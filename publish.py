#!/usr/bin/env python3
"""ANNAobserva's command line: `python publish.py --help` lists the commands."""

from newsletter.cli import main

if __name__ == "__main__":
    raise SystemExit(main())

"""python3 -m analysis.report RESULTS -o DIR"""
import sys

from .cli import main

sys.exit(main())

"""`python -m onewindow ROLE ...`, the same as the `onewindow` console script."""
import sys

from onewindow.cli import main

sys.exit(main())

import sys

from fgp.cli import main

sys.exit(main())

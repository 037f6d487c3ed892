import sys

from bonito.cli.main import main

sys.exit(main())

import sys

from services.operator.cli import main

sys.exit(main())

"""``python -m lrgrader grade ex01``: the class command (:mod:`lrgrader.classroom`)."""

import sys

from lrgrader.classroom import main

sys.exit(main())

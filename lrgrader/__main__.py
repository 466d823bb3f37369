"""``python -m lrgrader grade ex01``: the class command (:mod:`lrgrader.classroom`);
``python -m lrgrader mutants ex01``: mutation testing of the hidden suites (:mod:`lrgrader.mutants`)."""

import sys

if sys.argv[1:2] == ["mutants"]:
    from lrgrader.mutants import main

    sys.exit(main(sys.argv[2:]))

from lrgrader.classroom import main

sys.exit(main())

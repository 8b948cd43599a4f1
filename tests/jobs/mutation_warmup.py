"""A pytest plugin for mutation testing of the attempt (``scripts/mutation.sh attempt`` loads it with -p).

mutmut runs the tests of each mutant in a process forked from one that only collected them. The
Saleor fake's schema is built on first use and takes seconds; built here, when pytest starts in
that parent process, every forked run finds it built (``load_schema`` caches it per process).
"""

from tests.support.saleor_fake import load_schema
from tests.support.saleor_schema import find_schema

load_schema(find_schema())
